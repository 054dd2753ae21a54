"""``GET /v1/events``: job state changes as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from gateway.api.deps import Authenticated, JobsDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["events"], dependencies=Authenticated)


@router.get("/events", name="job_events", response_class=EventSourceResponse, summary="Stream of job state changes")
async def job_events(
    services: ServicesDep,
    jobs: JobsDep,
    job_id: Annotated[list[str] | None, Query(description="only these jobs (repeat, or comma-separated); all if absent")] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Each event is ``event: job`` with data ``{"job_id", "status", "at", "error"?}``.

    The stream opens with the comment ``: subscribed``; named jobs then get one event with
    their current state, so nothing between creating a job and subscribing is missed.
    """
    wanted = [part for value in job_id or [] for part in value.split(",") if part]
    with services.events.subscribe(wanted) as subscription:
        yield ServerSentEvent(comment="subscribed")
        for name in wanted:
            yield ServerSentEvent(data=(await jobs.get(name)).event(), event="job")
        while True:
            event = await subscription.queue.get()
            yield ServerSentEvent(data=event, event="job", id=f"{event['job_id']}:{event['status']}")
