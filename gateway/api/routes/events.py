"""``GET /v1/events``: job state changes as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from gateway.api.deps import Authenticated, JobsDep, ServicesDep
from gateway.core.errors import InvalidRequestError
from gateway.jobs.models import Job, utc_text

ENDED = frozenset({"succeeded", "failed", "deleted"})

router = APIRouter(prefix="/v1", tags=["events"], dependencies=Authenticated)


async def wanted_jobs(
    jobs: JobsDep,
    job_id: Annotated[list[str] | None, Query(description="only these jobs (repeat, or comma-separated); all if absent")] = None,
) -> list[str]:
    """The jobs asked for, once each, each checked to exist before the stream opens (404 otherwise).

    A ``job_id`` naming no job at all (empty) is 422: it would otherwise stream every job.
    """
    parts = [part.strip() for value in job_id or [] for part in value.split(",")]
    if job_id is not None and not any(parts):
        raise InvalidRequestError("job_id is empty: name a job, or leave job_id out for every job")
    wanted = list(dict.fromkeys(part for part in parts if part))
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
            event = current_state(await jobs.get(name))
            yield ServerSentEvent(data=event, event="job")
            _settle(waiting, event)
        while waiting or not wanted:
            event = await subscription.queue.get()
            yield ServerSentEvent(data=event, event="job", id=f"{event['job_id']}:{event['status']}")
            _settle(waiting, event)


def current_state(job: Job) -> dict[str, Any]:
    """The event of ``job``'s present state, ``at`` when it got there where the record says
    (ended: ``finished_at``; running: ``started_at``; queued, never tried: ``created_at``)."""
    event = job.event()
    moment = {"succeeded": job.finished_at, "failed": job.finished_at, "running": job.started_at}.get(event["status"])
    if event["status"] == "queued" and job.attempts == 0:
        moment = job.created_at
    if moment is not None:
        event["at"] = utc_text(moment)
    return event


def _settle(waiting: set[str], event: dict[str, Any]) -> None:
    """Strike the event's job off ``waiting`` once the event says it has ended."""
    if event.get("status") in ENDED:
        waiting.discard(str(event.get("job_id")))
