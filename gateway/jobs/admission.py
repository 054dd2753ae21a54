"""Which jobs this process holds unfinished (bounded by GATEWAY_MAX_QUEUED_JOBS), and which one
is claimed by a worker, a deletion or the retention sweep (one holder at a time)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from gateway.core.errors import JobRunningError, QueueFullError
from gateway.jobs.models import Priority


class Admission:
    """``unfinished``: job id -> (priority, created_at) of every job queued here and not yet ended."""

    def __init__(self, max_queued_jobs: int) -> None:
        self.max_queued_jobs = max_queued_jobs
        self.unfinished: dict[str, tuple[Priority, datetime]] = {}
        self._reserved = 0
        self._claimed: set[str] = set()

    @contextmanager
    def intake(self, count: int) -> Iterator[None]:
        """Room for ``count`` new jobs, held while they are stored; QueueFullError (429) when there is none."""
        waiting = len(self.unfinished) + self._reserved
        if waiting + count > self.max_queued_jobs:
            raise QueueFullError(
                f"{waiting} job(s) queued or running; {count} more would pass the limit of "
                f"{self.max_queued_jobs} (GATEWAY_MAX_QUEUED_JOBS): retry later"
            )
        self._reserved += count
        try:
            yield
        finally:
            self._reserved -= count

    def claim(self, job_id: str) -> bool:
        """Take ``job_id``; False when someone else holds it."""
        if job_id in self._claimed:
            return False
        self._claimed.add(job_id)
        return True

    def release(self, job_id: str) -> None:
        self._claimed.discard(job_id)

    @contextmanager
    def claimed(self, job_id: str, what: str) -> Iterator[None]:
        """Hold ``job_id`` for ``what`` (delete, expire); JobRunningError (409) while a worker has it."""
        if not self.claim(job_id):
            raise JobRunningError(f"job {job_id} is running: {what} it once it has finished")
        try:
            yield
        finally:
            self.release(job_id)
