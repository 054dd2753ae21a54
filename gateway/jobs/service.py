"""Accepting jobs (only once the original is durable), state changes, reads and resume."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from contracts.metadata import Metadata, ProcessMetadata, ProcessOutputImage, StoredOutput, output_images
from gateway.core.errors import (
    CorruptRecordError,
    GatewayError,
    JobFailedError,
    JobNotFinishedError,
    JobNotFoundError,
    JobRunningError,
    QueueUnavailableError,
    StorageError,
)
from gateway.core.metrics import GatewayMetrics
from gateway.inference.triton import Processed
from gateway.jobs.admission import Admission
from gateway.jobs.archive import output_names, zip_outputs
from gateway.jobs.engine.base import Event, JobEngine
from gateway.jobs.events import JobEvents
from gateway.jobs.models import (
    Callback,
    Job,
    JobError,
    JobReference,
    JobStatus,
    OptionValue,
    Priority,
    StoredObject,
    now,
    utc_text,
)
from gateway.jobs.repository import JobRepository, metadata_key, original_key, outputs_prefix, result_key
from gateway.jobs.retention import Retention
from gateway.jobs.sources import ObjectAccess
from gateway.jobs.uploads import inspect_image, inspect_upload
from gateway.storage import Store
from imaging.errors import ImageError
from imaging.formats import CONTENT_TYPES

logger = logging.getLogger(__name__)


class JobService:
    """The job life cycle; every state change is saved, counted and published.

    ``unfinished`` (see :class:`Admission`) holds every job queued here and not yet ended; a job
    being run, deleted or expired is claimed, so nobody else touches it meanwhile. Jobs wait in
    the ``engine`` (:mod:`gateway.jobs.engine`); events go out through it and come back, from
    every replica, to :meth:`heard`, which hands them to the local subscribers (``events``).
    """

    def __init__(
        self,
        repository: JobRepository,
        engine: JobEngine,
        events: JobEvents,
        metrics: GatewayMetrics,
        access: ObjectAccess,
        max_upload_bytes: int,
        max_pixels: int,
        max_queued_jobs: int = 1000,
        retention: Retention | None = None,
    ) -> None:
        self.repository = repository
        self.store: Store = repository.store
        self.engine = engine
        self.shared = not engine.resumes_from_store  # other replicas write records in the same store
        self.events = events
        self.metrics = metrics
        self.access = access
        self.max_upload_bytes = max_upload_bytes
        self.max_pixels = max_pixels
        self.admission = Admission(max_queued_jobs)
        self.unfinished = self.admission.unfinished
        self.retention = retention or Retention(repository)
        self.on_finished: list[Callable[[Job], None]] = []  # called with each job that ended (webhooks)

    async def submit_upload(
        self, source: BinaryIO, filename: str | None, priority: Priority, options: dict[str, OptionValue], model: str = "pipeline",
        callback: Callback | None = None,
    ) -> Job:
        with self.admission.intake(1):
            fmt, _ = inspect_upload(source, self.max_upload_bytes, self.max_pixels, options)
            return await self._accept_upload(source, fmt, filename, priority, options, model, callback)

    async def submit_uploads(
        self, uploads: list[tuple[BinaryIO, str | None]], priority: Priority, options: dict[str, OptionValue], model: str = "pipeline",
        callback: Callback | None = None,
    ) -> list[Job]:
        """Check every file first, so a bad one (or a full queue) refuses the batch before anything is queued."""
        with self.admission.intake(len(uploads)):
            return await self._submit_checked(uploads, priority, options, model, callback)

    async def _submit_checked(
        self, uploads: list[tuple[BinaryIO, str | None]], priority: Priority, options: dict[str, OptionValue], model: str,
        callback: Callback | None,
    ) -> list[Job]:
        formats: list[str] = []
        for position, (source, filename) in enumerate(uploads, start=1):
            try:
                formats.append(inspect_upload(source, self.max_upload_bytes, self.max_pixels, options)[0])
            except (ImageError, GatewayError) as error:
                error.args = (f"file {position} ({filename}): {error}",)  # same class and fields, whatever its __init__
                raise error from None
        return [
            await self._accept_upload(source, fmt, filename, priority, options, model, callback)
            for (source, filename), fmt in zip(uploads, formats, strict=True)
        ]

    async def submit_reference(self, request: JobReference, callback: Callback | None = None) -> Job:
        """Check both references against the policy before anything is read or acknowledged."""
        (model, options), priority = request.plan(), Priority.parse(request.priority)
        source = self.access.resolve(request.input_image)
        if request.output_image:
            self.access.resolve(request.output_image)
        with self.admission.intake(1):
            data = await self.access.read(source, self.max_upload_bytes)
            fmt = inspect_image(data, self.max_pixels, options)
            job = Job(priority=priority, options=options, model=model, source=request.input_image, output_target=request.output_image,
                      callback=callback)
            original = await self._put_bytes(original_key(job.job_id, fmt), data, CONTENT_TYPES[fmt])
            return await self._accept(job.model_copy(update={"original": original}))

    async def record_processed(
        self, data: bytes, fmt: str, filename: str | None, priority: Priority, options: dict[str, OptionValue],
        processed: Processed, processing_ms: float, model: str = "pipeline",
    ) -> Job:
        """A synchronous call kept as a finished job, so its result has a URL.

        ``data``: the original, whose format ``fmt`` the upload check (:func:`inspect_upload`) named.
        """
        job = Job(priority=priority, options=options, filename=filename, started_at=now(), model=model)
        original = None
        if self.retention.stores_originals:
            original = await self._put_bytes(original_key(job.job_id, fmt), data, CONTENT_TYPES[fmt])
        outputs = await self._store_outputs(job, processed)
        job = job.model_copy(update={"original": original, **outputs, "processing_ms": round(processing_ms, 3)})
        job = job.model_copy(update=self.retention.dates(job.finished_at or now()))
        await self.retention.schedule(job)
        await self.repository.add(job)
        self.metrics.job_moved(None, job.status.value)
        self.metrics.jobs_finished.labels(job.status.value).inc()
        return job

    async def complete(self, job: Job, processed: Processed, processing_ms: float) -> Job:
        """Store the outputs and mark ``job`` succeeded, unless its record says it already ended
        (another replica finished it: that outcome stands and this one is dropped unwritten)."""
        ended = await self.ended_elsewhere(job.job_id)
        if ended is not None:
            return ended
        outputs = await self._store_outputs(job, processed)
        return await self.transition(job, processing_ms=round(processing_ms, 3), **outputs)

    async def _store_outputs(self, job: Job, processed: Processed) -> dict[str, Any]:
        """Result, metadata and the client's extra copy stored: the changes that make a job succeeded.

        Several outputs (tiles) are stored one object each, listed in the job (``outputs``) and in
        the metadata (``outputs[i].object``); the result is then a zip of them all.
        """
        metadata, outputs = processed.metadata, None
        result_bytes, content_type, fmt = processed.result, processed.content_type, processed.format
        if len(processed.results) > 1:
            outputs = await self._store_each(job.job_id, processed)
            metadata = with_stored_outputs(metadata, outputs)
            result_bytes, content_type, fmt = zip_outputs(processed.results, metadata), "application/zip", "zip"
        result = await self._put_bytes(result_key(job.job_id, fmt), result_bytes, content_type)
        metadata_object = await self._put_bytes(metadata_key(job.job_id), json.dumps(metadata, indent=1).encode(), "application/json")
        if job.output_target:
            await self.access.write(self.access.resolve(job.output_target), result_bytes, content_type)
        return {
            "status": JobStatus.succeeded, "finished_at": now(), "result": result, "outputs": outputs,
            "metadata_object": metadata_object, "metadata": metadata, "error": None,
        }

    async def _store_each(self, job_id: str, processed: Processed) -> list[StoredObject]:
        names = output_names(processed.metadata, len(processed.results))
        return [
            await self._put_bytes(f"{outputs_prefix(job_id)}{name}", data, processed.content_type)
            for name, data in zip(names, processed.results, strict=True)
        ]

    async def fail(self, job: Job, code: str, detail: str) -> Job:
        """Mark ``job`` failed with ``code``, unless its record says it already ended."""
        ended = await self.ended_elsewhere(job.job_id)
        if ended is not None:
            return ended
        logger.info("job %s failed: %s: %s", job.job_id, code, detail)
        error = JobError(error=code, detail=detail)
        return await self.transition(job, status=JobStatus.failed, finished_at=now(), error=error)

    async def transition(self, job: Job, **changes: Any) -> Job:
        """Save the changed record (the truth), then count and publish the change.

        A job that ends gets its retention dates; their markers are written before its record.
        """
        updated = job.model_copy(update=changes)
        if updated.status.finished:
            updated = updated.model_copy(update=self.retention.dates(updated.finished_at or now()))
            await self.retention.schedule(updated)
            await self.repository.finish(updated)
            self.unfinished.pop(updated.job_id, None)
            self.metrics.jobs_finished.labels(updated.status.value).inc()
            if not self.retention.stores_originals:
                updated = await self._drop_original_now(updated)
            for hook in self.on_finished:
                hook(updated)
        else:
            await self.repository.save(updated)
        if updated.status != job.status:
            self.metrics.job_moved(job.status.value, updated.status.value)
            await self.engine.publish(updated.event())
        return updated

    async def ended_elsewhere(self, job_id: str) -> Job | None:
        """The stored record when it already says ``succeeded`` or ``failed``: the check made before
        writing an outcome, so a job delivered twice keeps the first outcome written."""
        if self.shared:
            self.repository.forget(job_id)  # the store's record, not this replica's copy
        try:
            stored = await self.get(job_id)
        except (JobNotFoundError, CorruptRecordError):
            return None
        if stored.status.finished:
            logger.warning("job %s had already %s; this outcome is dropped", job_id, stored.status.value)
            self.unfinished.pop(job_id, None)
            return stored
        return None

    def heard(self, event: Event) -> None:
        """A job event from any replica: a job that ended leaves ``unfinished``; with a shared engine the
        cached record is dropped (another replica may have written it); subscribers get it."""
        if self.shared:
            self.repository.forget(str(event.get("job_id")))
        if event.get("status") in (JobStatus.succeeded.value, JobStatus.failed.value, "deleted"):
            self.unfinished.pop(str(event.get("job_id")), None)
        self.events.publish(event)

    async def _drop_original_now(self, job: Job) -> Job:
        """GATEWAY_KEEP_ORIGINALS_S=0: the original goes once the job ended (else the sweep retries)."""
        try:
            return await self.retention.drop_original(job)
        except StorageError as error:
            logger.warning("job %s: original not deleted yet (%s); the retention sweep retries", job.job_id, error)
            return job

    def claim(self, job_id: str) -> bool:
        """Take ``job_id`` for a worker; False when someone else holds it."""
        return self.admission.claim(job_id)

    def release(self, job_id: str) -> None:
        self.admission.release(job_id)

    async def delete(self, job_id: str) -> list[str]:
        """Remove a queued or finished job: original, results, metadata and record; the keys removed.

        A running job raises JobRunningError (its worker is writing its outputs).
        """
        with self.admission.claimed(job_id, "delete"):
            if self.shared:
                self.repository.forget(job_id)
            job = await self.get(job_id)
            if self.shared and job.status == JobStatus.running:  # another replica's worker has it
                raise JobRunningError(f"job {job_id} is running: delete it once it has finished")
            keys = await self.repository.delete(job)
        self.unfinished.pop(job_id, None)
        self.metrics.job_moved(job.status.value, None)
        await self.engine.publish({"job_id": job_id, "status": "deleted", "at": utc_text(now())})  # its subscribers learn it
        logger.info("job %s (%s) deleted: %d object(s)", job_id, job.status.value, len(keys))
        return keys

    async def expire_original(self, job_id: str) -> None:
        """Retention: delete a finished job's original (an unfinished one keeps it)."""
        with self.admission.claimed(job_id, "expire"):
            job = await self.get(job_id)
            if job.status.finished:
                await self.retention.drop_original(job)

    async def expire_job(self, job_id: str) -> None:
        """Retention: delete a finished job entirely (an unfinished one is left alone)."""
        with self.admission.claimed(job_id, "expire"):
            job = await self.get(job_id)
            if job.status.finished:
                await self.repository.delete(job)
                self.metrics.job_moved(job.status.value, None)

    async def get(self, job_id: str) -> Job:
        return await self.repository.get(job_id)

    async def wait(self, job_id: str, timeout_s: float) -> Job:
        """The job once finished, or as it is after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self.events.subscribe([job_id]) as subscription:
            job = await self.get(job_id)
            while not job.status.finished and (left := deadline - time.monotonic()) > 0:
                if await subscription.next(left) is not None:
                    job = await self.get(job_id)
        return job

    async def result(self, job_id: str) -> tuple[bytes, StoredObject]:
        """The processed photo's bytes and where it is stored; JobFailedError (naming the job's
        error) for a failed job, JobNotFinishedError for one queued or running."""
        job = await self.get(job_id)
        if job.status == JobStatus.failed:
            raise failed_error(job)
        if job.status != JobStatus.succeeded or job.result is None:
            raise JobNotFinishedError(f"job {job_id} is {job.status.value}; its result exists once it has succeeded")
        return await self.store.get_bytes(job.result.key), job.result

    async def resume(self) -> int:
        """Queue again every job a previous process left queued or running."""
        jobs = await self.repository.unfinished()
        for job in jobs:
            self.metrics.job_moved(None, job.status.value)
            if job.status == JobStatus.running:
                job = await self.transition(job, status=JobStatus.queued, last_retry_reason="gateway restarted")
            self.unfinished[job.job_id] = (job.priority, job.created_at)
            await self.engine.enqueue(job.job_id, job.priority)
        if jobs:
            logger.info("resumed %d unfinished job(s) from the store", len(jobs))
        return len(jobs)

    async def _accept_upload(
        self, source: BinaryIO, fmt: str, filename: str | None, priority: Priority, options: dict[str, OptionValue], model: str,
        callback: Callback | None = None,
    ) -> Job:
        """Store an inspected upload as the original of a new job, then accept the job."""
        job = Job(priority=priority, options=options, filename=filename, model=model, callback=callback)
        original = await self._put(original_key(job.job_id, fmt), source, CONTENT_TYPES[fmt])
        return await self._accept(job.model_copy(update={"original": original}))

    async def _accept(self, job: Job) -> Job:
        await self.repository.create(job)
        self.unfinished[job.job_id] = (job.priority, job.created_at)
        self.metrics.job_moved(None, job.status.value)
        await self.engine.publish(job.event())
        try:
            await self.engine.enqueue(job.job_id, job.priority)
        except QueueUnavailableError as error:  # not accepted after all: recorded as failed, the client gets 503
            await self.fail(job, error.code, str(error))
            raise
        return job

    async def _put(self, key: str, source: BinaryIO, content_type: str) -> StoredObject:
        size = await self.store.put_file(key, source, content_type)
        return StoredObject(key=key, location=self.store.location(key), content_type=content_type, bytes=size)

    async def _put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        return await self._put(key, io.BytesIO(data), content_type)


def with_stored_outputs(metadata: Metadata, stored: list[StoredObject]) -> ProcessMetadata:
    """``metadata`` whose `outputs` records each say where their item is stored (``object``)."""
    described = output_images(metadata) or [cast(ProcessOutputImage, {})] * len(stored)
    located = [
        ProcessOutputImage(**image, object=StoredOutput(key=where.key, location=where.location, content_type=where.content_type, bytes=where.bytes))
        for image, where in zip(described, stored, strict=False)
    ]
    return cast(ProcessMetadata, metadata) | {"outputs": located}


def failed_error(job: Job) -> JobFailedError:
    """What asking a failed job for its result (or metadata) answers: the job's own error."""
    error = job.error or JobError(error="unknown", detail="no reason recorded")
    return JobFailedError(f"job {job.job_id} failed ({error.error}): {error.detail}")
