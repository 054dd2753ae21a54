"""Job workers: asyncio tasks that take jobs from the engine (:mod:`gateway.jobs.engine`) and run them through Triton.

A delivery is acknowledged only once the job's final state is saved; a retried job goes back to
the engine with its back-off delay (``Delivery.retry``); while a job runs its delivery is kept
alive (``Delivery.extend``, every third of the engine's ack deadline). A job the engine gave up
on (``GATEWAY_JOB_MAX_DELIVERIES`` deliveries) fails with ``delivery_limit``.

Every accepted job ends, ``succeeded`` or ``failed`` with a reason, within bounded time:

- Triton unreachable: the workers hold back (one probes readiness with growing delays) and jobs
  stay ``queued``; Triton busy, or the store failing (reading the original, writing results or the
  record): the job goes back to the queue after an exponential back-off. None of these is the
  photo's fault, so none fails the job by itself.
- An attempt that outlasts GATEWAY_TRITON_TIMEOUT_S is retried until GATEWAY_JOB_MAX_TIMEOUTS
  attempts have, then the job fails with ``inference_timeout``.
- The retry budget: a job not finished GATEWAY_JOB_DEADLINE_S after it was accepted fails with
  ``job_expired`` (a watchdog checks every second, also while Triton is away). Writing that
  outcome needs the store: while it is away the outcome is retried with back-off, and recorded
  as soon as it is back, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

from gateway.core.errors import (
    BusyError,
    CorruptRecordError,
    GatewayError,
    InferenceTimeoutError,
    JobNotFoundError,
    ModelCrashedError,
    ObjectMissingError,
    StorageError,
    TritonUnavailableError,
)
from gateway.inference.service import Inference
from gateway.jobs.engine.base import Delivery
from gateway.jobs.models import Job, JobStatus, now
from gateway.jobs.service import JobService
from imaging.errors import ImageError

logger = logging.getLogger(__name__)

WATCHDOG_PERIOD_S = 1.0
RETRIED = (BusyError, TritonUnavailableError, StorageError)  # not the photo's fault: back to the queue


class Backoff:
    """Exponential delays: initial, 2x initial, ... capped at ``maximum``."""

    def __init__(self, initial_s: float, maximum_s: float) -> None:
        self.initial_s = initial_s
        self.maximum_s = maximum_s

    def delay(self, attempt: int) -> float:
        return min(self.maximum_s, self.initial_s * 2 ** max(attempt - 1, 0))


class JobRunner:
    def __init__(
        self, service: JobService, inference: Inference, workers: int, backoff: Backoff,
        deadline_s: float = 3600.0, max_timeouts: int = 3, max_crashes: int = 2,
    ) -> None:
        self.service = service
        self.inference = inference
        self.workers = workers
        self.backoff = backoff
        self.deadline = timedelta(seconds=deadline_s)
        self.max_timeouts = max_timeouts
        self.max_crashes = max_crashes
        self._triton_ok = False
        self._gate = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._retry_in: dict[str, float] = {}  # jobs whose delivery goes back to the engine, and after how long
        self._failures: Counter[str] = Counter()  # consecutive retried failures per job (back-off)
        self._backing_off: set[str] = set()  # jobs waiting out a back-off delay before the queue
        self._reasons: dict[str, str] = {}  # why each was retried, kept for its record when the store was away

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"job-worker-{index}") for index in range(self.workers)]
        self._tasks.append(asyncio.create_task(self._watchdog(), name="job-watchdog"))

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            await self._wait_for_triton()  # before taking a job: the queue keeps its priority order
            delivery = await self.service.engine.take()
            if not self.service.claim(delivery.job_id):  # being deleted or expired here right now: look again soon
                await delivery.retry(self.backoff.delay(1))
                continue
            try:
                await self._deliver(delivery)
            finally:
                self.service.release(delivery.job_id)

    async def _deliver(self, delivery: Delivery) -> None:
        """Run one delivery, then ack it (the outcome is saved) or hand it back with its back-off delay."""
        job_id = delivery.job_id
        heartbeat = asyncio.create_task(self._keep_alive(delivery), name=f"job-heartbeat-{job_id}")
        try:
            await self._run(job_id)
        except asyncio.CancelledError:  # shutting down: another worker (another replica) may take it at once
            heartbeat.cancel()
            await self._hand_back(delivery, 0.0)
            raise
        except Exception:  # noqa: BLE001 - one broken job must not kill the worker, nor be lost
            logger.exception("job %s: unexpected error in the worker; retrying it later", job_id)
            self._requeue_later(job_id, "unexpected error in the worker")
        finally:
            heartbeat.cancel()
        delay = self._retry_in.pop(job_id, None)
        if delay is None:
            await delivery.ack()
        else:
            await self._hand_back(delivery, delay)

    async def _hand_back(self, delivery: Delivery, delay_s: float) -> None:
        try:
            await delivery.retry(delay_s)
        except Exception as error:  # noqa: BLE001 - the engine redelivers it after its ack deadline anyway
            logger.warning("job %s: could not hand it back to the engine (%s); it returns after the ack deadline", delivery.job_id, error)

    async def _keep_alive(self, delivery: Delivery) -> None:
        """Restart the delivery's ack deadline every third of it while the job runs."""
        period = max(self.service.engine.ack_wait_s / 3, 0.05)
        while True:
            await asyncio.sleep(period)
            try:
                await delivery.extend()
            except Exception as error:  # noqa: BLE001 - a missed heartbeat may mean a second delivery, not a lost job
                logger.warning("job %s: heartbeat to the engine failed (%s)", delivery.job_id, error)

    async def exhausted(self, job_id: str, deliveries: int) -> None:
        """The engine gave up on ``job_id`` after ``deliveries`` deliveries: it fails as ``delivery_limit``
        (unless it already ended or is gone)."""
        try:
            job = await self.service.get(job_id)
        except JobNotFoundError:
            return
        except CorruptRecordError:
            job = Job(job_id=job_id)
        if not job.status.finished:
            reason = f"; last retry reason: {job.last_retry_reason}" if job.last_retry_reason else ""
            await self.service.fail(job, "delivery_limit", f"delivered {deliveries} times without an outcome (GATEWAY_JOB_MAX_DELIVERIES){reason}")
        self._forget(job_id)

    async def _run(self, job_id: str) -> None:
        try:
            await self._settle(job_id)
        except StorageError as error:  # the outcome itself could not be written: try again later
            self._requeue_later(job_id, str(error))

    async def _settle(self, job_id: str) -> None:
        if self.service.shared:
            self.service.repository.forget(job_id)  # another replica may have run it: the store's record
        try:
            job = await self.service.get(job_id)
        except JobNotFoundError:
            self._forget(job_id)  # deleted while queued
            return
        except CorruptRecordError as error:  # unreadable: it ends here, as failed
            job = Job(job_id=job_id, last_retry_reason=self._reasons.get(job_id))
            await self._fail(job, error.code, str(error))
            return
        if job.status.finished:
            self._forget(job_id)
            return
        await self._attempt(job)

    async def _attempt(self, job: Job) -> None:
        if self._expired(job):
            await self._fail(job, "job_expired", self._expiry_detail(job))
            return
        reason = self._reasons.get(job.job_id, job.last_retry_reason)
        job = await self.service.transition(
            job, status=JobStatus.running, started_at=now(), attempts=job.attempts + 1, last_retry_reason=reason
        )
        try:
            original = await self.service.store.get_bytes(job.original.key) if job.original else b""
            processed, elapsed_ms = await self.inference.run(original, job.options, job.priority, wait=True, model=job.model)
            await self.service.complete(job, processed, elapsed_ms)
            self._forget(job.job_id)
        except InferenceTimeoutError as error:
            await self._timed_out(job, error)
        except ModelCrashedError as error:
            await self._crashed(job, error)
        except ObjectMissingError as error:
            await self._fail(job, "original_missing", f"the stored original is gone: {error}")
        except RETRIED as error:
            await self._retry_later(job, error)
        except (ImageError, GatewayError) as error:
            await self._fail(job, error.code, str(error))
        except Exception as error:  # noqa: BLE001 - recorded as the job's fate, with a traceback in the log
            logger.exception("job %s failed unexpectedly", job.job_id)
            await self._fail(job, "internal_error", f"{type(error).__name__}: {error}")

    async def _timed_out(self, job: Job, error: InferenceTimeoutError) -> None:
        await self._retry_up_to(job, error, "timeouts", self.max_timeouts, "outlasted the inference deadline (GATEWAY_TRITON_TIMEOUT_S)")

    async def _crashed(self, job: Job, error: ModelCrashedError) -> None:
        """A stub died in this job's batch: an innocent neighbour of the crashing photo succeeds on its
        retry once the model is back; a photo that crashes it ``max_crashes`` times fails, named."""
        await self._retry_up_to(job, error, "crashes", self.max_crashes, "ended in a model crash (GATEWAY_JOB_MAX_CRASHES)")

    async def _retry_up_to(self, job: Job, error: GatewayError, counter: str, limit: int, what: str) -> None:
        """Count this attempt in the job's ``counter`` field; fail it named once ``limit`` attempts did ``what``."""
        count = getattr(job, counter) + 1
        job = job.model_copy(update={counter: count})
        if count >= limit:
            await self._fail(job, error.code, f"{count} attempt(s) {what}: {error}")
        else:
            await self._retry_later(job, error)

    async def _fail(self, job: Job, code: str, detail: str) -> None:
        await self.service.fail(job, code, detail)
        self._forget(job.job_id)

    async def _retry_later(self, job: Job, error: GatewayError) -> None:
        """Back to ``queued`` (saved if the store lets us) and into the queue after a back-off delay."""
        if isinstance(error, TritonUnavailableError):
            self._triton_ok = False
        if self._expired(job):
            await self._fail(job, "job_expired", f"{self._expiry_detail(job)}; last error: {error}")
            return
        try:
            await self.service.transition(job, status=JobStatus.queued, last_retry_reason=str(error))
        except StorageError as unsaved:
            logger.warning("job %s: back to the queue, but not recorded (%s)", job.job_id, unsaved)
        self._requeue_later(job.job_id, str(error))

    def _requeue_later(self, job_id: str, reason: str) -> None:
        self._failures[job_id] += 1
        self._reasons[job_id] = reason
        delay = self.backoff.delay(self._failures[job_id])
        logger.warning("job %s: %s; retrying in %.1f s", job_id, reason, delay)
        self._retry_in[job_id] = delay
        self._backing_off.add(job_id)
        asyncio.get_running_loop().call_later(delay, self._backing_off.discard, job_id)

    def _forget(self, job_id: str) -> None:
        self._failures.pop(job_id, None)
        self._reasons.pop(job_id, None)
        self.service.unfinished.pop(job_id, None)

    def _expired(self, job: Job) -> bool:
        return now() - job.created_at > self.deadline

    def _expiry_detail(self, job: Job) -> str:
        reason = f" (last retry reason: {job.last_retry_reason})" if job.last_retry_reason else ""
        return f"not finished within {self.deadline.total_seconds():g} s of acceptance (GATEWAY_JOB_DEADLINE_S){reason}"

    async def _watchdog(self) -> None:
        """Fail the queued jobs past their deadline, also while Triton is away and no worker runs."""
        while True:
            await asyncio.sleep(WATCHDOG_PERIOD_S)
            limit = now() - self.deadline
            overdue = [job_id for job_id, (_, created) in self.service.unfinished.items() if created < limit]
            for job_id in [job_id for job_id in overdue if job_id not in self._backing_off]:
                if self.service.claim(job_id):
                    try:
                        await self._run(job_id)  # past its deadline: fails it (or retries writing that)
                        self._retry_in.pop(job_id, None)  # its delivery (queued or backing off) is still in the engine
                    except Exception:  # noqa: BLE001 - the watchdog must keep watching
                        logger.exception("job %s: could not expire it", job_id)
                    finally:
                        self.service.release(job_id)

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
