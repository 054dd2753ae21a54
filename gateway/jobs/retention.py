"""How long originals and finished jobs are kept, and the periodic sweep that deletes them.

``keep_originals_s`` / ``keep_jobs_s``: -1 keeps forever, 0 deletes as soon as the job ends, N
deletes N seconds after it ended. A due date is written as a marker (``retention/<kind>/...``)
*before* the finished record, so a crash cannot leave an original without its deletion date; the
sweep reads only the earliest markers, at most ``limit`` of each kind per run.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway.core.errors import GatewayError, JobNotFoundError, JobRunningError
from gateway.core.periodic import Periodic
from gateway.jobs.models import Job
from gateway.jobs.repository import JobRepository, retention_key

if TYPE_CHECKING:
    from gateway.jobs.service import JobService

logger = logging.getLogger(__name__)

KEEP_FOREVER = -1


class Retention:
    """The policy: due dates of a finished job, and their markers in the store."""

    def __init__(self, repository: JobRepository, keep_originals_s: float = KEEP_FOREVER, keep_jobs_s: float = KEEP_FOREVER) -> None:
        self.repository = repository
        self.keep_originals_s = keep_originals_s
        self.keep_jobs_s = keep_jobs_s

    @property
    def stores_originals(self) -> bool:
        """False when originals are not kept at all (a synchronous call then stores none)."""
        return self.keep_originals_s != 0

    def dates(self, finished_at: datetime) -> dict[str, Any]:
        """``original_expires_at`` and ``expires_at`` for a job that ended at ``finished_at``."""
        def due(keep_s: float) -> datetime | None:
            return None if keep_s < 0 else finished_at + timedelta(seconds=keep_s)

        return {"original_expires_at": due(self.keep_originals_s), "expires_at": due(self.keep_jobs_s)}

    async def schedule(self, job: Job) -> None:
        """Write the markers of ``job``'s due dates (before its finished record is saved)."""
        if job.original is not None and job.original_expires_at is not None:
            await self.repository.mark_due("originals", job.job_id, job.original_expires_at)
        if job.expires_at is not None:
            await self.repository.mark_due("jobs", job.job_id, job.expires_at)

    async def drop_original(self, job: Job) -> Job:
        """Delete ``job``'s original and record that it is gone; then its marker."""
        if job.original is not None:
            await self.repository.store.delete(job.original.key)
            job = job.model_copy(update={"original": None})
            await self.repository.save(job)
        if job.original_expires_at is not None:
            await self.repository.store.delete(retention_key("originals", job.job_id, job.original_expires_at))
        return job


class RetentionSweeper:
    """Every ``period_s``: the originals and then the jobs that are due, at most ``limit`` of each."""

    def __init__(self, service: JobService, period_s: float, limit: int) -> None:
        self.service = service
        self.period_s = period_s
        self.limit = limit
        # GatewayError: storage away; the markers stay, the next sweep retries.
        self._periodic = Periodic("retention-sweep", period_s, self.sweep, survives=(GatewayError,))

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def sweep(self) -> int:
        """Expire what is due now; returns how many originals and jobs were handled."""
        handled = 0
        repository = self.service.repository
        for kind in ("originals", "jobs"):
            for marker, job_id in await repository.due(kind, time.time(), self.limit):
                try:
                    await (self.service.expire_original(job_id) if kind == "originals" else self.service.expire_job(job_id))
                except JobNotFoundError:
                    pass  # deleted already: only the marker is left
                except JobRunningError:
                    continue  # a worker holds it: the next sweep
                await repository.store.delete(marker)
                handled += 1
        if handled:
            logger.info("retention sweep: %d original(s) / job(s) expired", handled)
        return handled
