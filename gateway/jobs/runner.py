"""Job workers: asyncio tasks that take job ids from the local queue and run them through Triton.

While Triton is unreachable the workers hold back (one of them probes readiness with growing
delays) and jobs stay ``queued``; a job Triton turns away as busy goes back to the queue later.
"""

from __future__ import annotations

import asyncio
import logging

from gateway.core.errors import TRANSIENT_ERRORS, GatewayError, TritonUnavailableError
from gateway.inference.service import Inference
from gateway.jobs.models import Job, JobStatus, now
from gateway.jobs.service import JobService
from imaging.errors import ImageError

logger = logging.getLogger(__name__)


class Backoff:
    """Exponential delays: initial, 2x initial, ... capped at ``maximum``."""

    def __init__(self, initial_s: float, maximum_s: float) -> None:
        self.initial_s = initial_s
        self.maximum_s = maximum_s

    def delay(self, attempt: int) -> float:
        return min(self.maximum_s, self.initial_s * 2 ** max(attempt - 1, 0))


class JobRunner:
    def __init__(self, service: JobService, inference: Inference, workers: int, backoff: Backoff) -> None:
        self.service = service
        self.inference = inference
        self.workers = workers
        self.backoff = backoff
        self._triton_ok = False
        self._gate = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._delayed: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"job-worker-{index}") for index in range(self.workers)]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._delayed]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            await self._wait_for_triton()  # before taking a job: the queue keeps its priority order
            job_id = await self.service.queue.get()
            try:
                await self._run(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one broken job must not kill the worker
                logger.exception("job %s: unexpected error in the worker", job_id)

    async def _run(self, job_id: str) -> None:
        job = await self.service.get(job_id)
        if job.status.finished:
            return
        job = await self.service.transition(job, status=JobStatus.running, started_at=now(), attempts=job.attempts + 1)
        try:
            original = await self.service.store.get_bytes(job.original.key) if job.original else b""
            processed, elapsed_ms = await self.inference.run(original, job.options, job.priority, wait=True, model=job.model)
            await self.service.complete(job, processed, elapsed_ms)
        except TRANSIENT_ERRORS as error:
            await self._retry_later(job, error)
        except (ImageError, GatewayError) as error:
            await self.service.fail(job, error.code, str(error))
        except Exception as error:  # noqa: BLE001 - recorded as the job's fate, with a traceback in the log
            logger.exception("job %s failed unexpectedly", job_id)
            await self.service.fail(job, "internal_error", f"{type(error).__name__}: {error}")

    async def _retry_later(self, job: Job, error: GatewayError) -> None:
        """Back to ``queued``; into the local queue again after a back-off delay."""
        if isinstance(error, TritonUnavailableError):
            self._triton_ok = False
        delay = self.backoff.delay(job.attempts)
        logger.warning("job %s: %s; retrying in %.1f s", job.job_id, error, delay)
        await self.service.transition(job, status=JobStatus.queued, last_retry_reason=str(error))
        task = asyncio.create_task(self._requeue(job, delay))
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)

    async def _requeue(self, job: Job, delay: float) -> None:
        await asyncio.sleep(delay)
        self.service.queue.put(job.job_id, job.priority)

    async def _wait_for_triton(self) -> None:
        """Return once Triton is ready; while it is not, one worker probes and the others queue up."""
        if self._triton_ok:
            return
        async with self._gate:
            attempt = 0
            while not self._triton_ok:
                if await self.inference.pipeline.is_ready():
                    self._triton_ok = True
                    logger.info("Triton at %s is ready; running jobs", self.inference.pipeline.url)
                    break
                attempt += 1
                delay = self.backoff.delay(attempt)
                logger.warning("Triton at %s is not ready; jobs wait (next probe in %.1f s)", self.inference.pipeline.url, delay)
                await asyncio.sleep(delay)
