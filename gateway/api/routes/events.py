"""``GET /v1/events``: job state changes as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from gateway.api.deps import Authenticated, JobsDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["events"], dependencies=Authenticated)


async def wanted_jobs(
    jobs: JobsDep,
    job_id: Annotated[list[str] | None, Query(description="only these jobs (repeat, or comma-separated); all if absent")] = None,
) -> list[str]:
    """The jobs asked for, each checked to exist before the stream opens (404 otherwise)."""
    wanted = [part for value in job_id or [] for part in value.split(",") if part]
    for name in wanted:
        await jobs.get(name)
    return wanted


@router.get("/events", name="job_events", response_class=EventSourceResponse, summary="Stream of job state changes")
async def job_events(
    services: ServicesDep, jobs: JobsDep, wanted: Annotated[list[str], Depends(wanted_jobs)]
) -> AsyncIterator[ServerSentEvent]:
    """Each event is ``event: job`` with data ``{"job_id", "status", "at", "error"?}``.

    An unknown job is answered ``404 job_not_found`` before the stream opens. The stream opens
    with the comment ``: subscribed``; named jobs then get one event with their current state,
    so nothing between creating a job and subscribing is missed.
    """
    with services.events.subscribe(wanted) as subscription:
        yield ServerSentEvent(comment="subscribed")
        for name in wanted:
            yield ServerSentEvent(data=(await jobs.get(name)).event(), event="job")
        while True:
            event = await subscription.queue.get()
            yield ServerSentEvent(data=event, event="job", id=f"{event['job_id']}:{event['status']}")
