"""``GET /v1/events``: job state changes as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from gateway.api.deps import Authenticated, JobsDep, ServicesDep

ENDED = frozenset({"succeeded", "failed", "deleted"})

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
    so nothing between creating a job and subscribing is missed. Events come from every replica
    (the job engine carries them). A stream filtered to some jobs ends once each of them has
    ended (``succeeded``, ``failed`` or ``deleted``); an unfiltered one runs until the client leaves.
    """
    with services.events.subscribe(wanted) as subscription:
        yield ServerSentEvent(comment="subscribed")
        waiting = set(wanted)
        for name in wanted:
            event = (await jobs.get(name)).event()
            yield ServerSentEvent(data=event, event="job")
            _settle(waiting, event)
        while waiting or not wanted:
            event = await subscription.queue.get()
            yield ServerSentEvent(data=event, event="job", id=f"{event['job_id']}:{event['status']}")
            _settle(waiting, event)


def _settle(waiting: set[str], event: dict[str, Any]) -> None:
    """Strike the event's job off ``waiting`` once the event says it has ended."""
    if event.get("status") in ENDED:
        waiting.discard(str(event.get("job_id")))
