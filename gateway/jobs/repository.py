"""Job records in the store: ``jobs/<id>.json`` is the truth, ``pending/<id>`` marks unfinished ones.

Layout of the store, all by job id::

    originals/<id>.<ext>   the uploaded (or fetched) photo, with its sniffed content type
    results/<id>.<ext>     the processed photo (a .zip of every output when there are several)
    outputs/<id>/<n>.<ext> each output, when the model made several (tiles)
    metadata/<id>.json     the model's metadata (detections, faces, blur, versions)
    jobs/<id>.json         the job record
    pending/<id>           present while the job is queued or running (read on start to resume)
    retention/<kind>/<ms>-<id>  a due date (ms since the epoch, zero-padded so keys sort by it):
                           ``originals`` (delete the original) or ``jobs`` (delete the whole job)
    index/<rms>-<id>       one empty marker per job; ``rms`` = 999999999999999 - creation ms since
                           the epoch, zero-padded, so key order (S3's listing order) is newest first
    webhooks/<id>.json     the delivery of the job's outcome to its callback URL (attempts, state)
    webhooks-pending/<id>  present from acceptance until that delivery ended (read on start to resume)
    index-complete         every job recorded before the ``index/`` markers existed has one now
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from datetime import datetime

from pydantic import ValidationError

from gateway.core.errors import CorruptRecordError, JobNotFoundError, ObjectMissingError
from gateway.jobs.models import Job, JobError, JobStatus, now
from gateway.storage import Store

logger = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
EXTENSIONS = {"jpeg": "jpg", "tiff": "tif"}


def original_key(job_id: str, fmt: str) -> str:
    return f"originals/{job_id}.{EXTENSIONS.get(fmt, fmt)}"


def result_key(job_id: str, fmt: str) -> str:
    return f"results/{job_id}.{EXTENSIONS.get(fmt, fmt)}"


def outputs_prefix(job_id: str) -> str:
    return f"outputs/{job_id}/"


def metadata_key(job_id: str) -> str:
    return f"metadata/{job_id}.json"


def _record_key(job_id: str) -> str:
    return f"jobs/{job_id}.json"


def _pending_key(job_id: str) -> str:
    return f"pending/{job_id}"


INDEX_PREFIX = "index/"
INDEX_KEY = re.compile(r"^index/(\d{15})-([0-9a-f]{32})$")
_INDEX_TOP = 10**15 - 1


def index_key(job_id: str, created_ms: int) -> str:
    """The listing marker of a job created ``created_ms`` ms after the epoch (newest sorts first)."""
    return f"{INDEX_PREFIX}{_INDEX_TOP - created_ms:015d}-{job_id}"


def index_bound(created_ms: int) -> str:
    """A key after every marker of jobs created later than ``created_ms`` and before the others."""
    return f"{INDEX_PREFIX}{_INDEX_TOP - created_ms:015d}-~"


INDEX_COMPLETE_KEY = "index-complete"


def parse_index_key(key: str) -> tuple[int, str] | None:
    """(creation ms since the epoch, job id) of a listing marker; None for anything else."""
    match = INDEX_KEY.match(key)
    return (_INDEX_TOP - int(match[1]), match[2]) if match else None


def created_ms(job: Job) -> int:
    return int(job.created_at.timestamp() * 1000)


def webhook_key(job_id: str) -> str:
    return f"webhooks/{job_id}.json"


WEBHOOK_PENDING_PREFIX = "webhooks-pending/"


def webhook_pending_key(job_id: str) -> str:
    return f"{WEBHOOK_PENDING_PREFIX}{job_id}"


RETENTION_KINDS = ("originals", "jobs")


def retention_key(kind: str, job_id: str, due: datetime) -> str:
    return f"retention/{kind}/{int(due.timestamp() * 1000):015d}-{job_id}"


def parse_retention_key(key: str) -> tuple[float, str]:
    """(due time in seconds since the epoch, job id) of a retention marker."""
    stamp, _, job_id = key.rsplit("/", 1)[-1].partition("-")
    return int(stamp) / 1000, job_id


class JobRepository:
    """Reads and writes job records, with a bounded in-memory cache in front of the store."""

    def __init__(self, store: Store, cache_size: int = 4096) -> None:
        self.store = store
        self._cache: OrderedDict[str, Job] = OrderedDict()
        self._cache_size = cache_size

    async def create(self, job: Job) -> None:
        """Mark pending (and listed, and its callback due) first: a crash before the record is
        written leaves markers that resume and the listing drop."""
        await self.store.put_bytes(_pending_key(job.job_id), b"", "application/octet-stream")
        if job.callback is not None:
            await self.store.put_bytes(webhook_pending_key(job.job_id), b"", "application/octet-stream")
        await self.add(job)

    async def add(self, job: Job) -> None:
        """Save a new job's record after its listing marker (a finished synchronous call uses it alone)."""
        await self.store.put_bytes(index_key(job.job_id, created_ms(job)), b"", "application/octet-stream")
        await self.save(job)

    async def save(self, job: Job) -> None:
        await self.store.put_bytes(_record_key(job.job_id), job.model_dump_json(indent=1).encode(), "application/json")
        self._remember(job)

    async def finish(self, job: Job) -> None:
        await self.save(job)
        await self.store.delete(_pending_key(job.job_id))

    def forget(self, job_id: str) -> None:
        """Drop ``job_id`` from the cache: another gateway replica may have changed its record."""
        self._cache.pop(job_id, None)

    async def get(self, job_id: str) -> Job:
        if job_id in self._cache:
            self._cache.move_to_end(job_id)
            return self._cache[job_id]
        if not JOB_ID.match(job_id):
            raise JobNotFoundError(f"no job {job_id[:40]!r}: job ids are 32 hex digits")
        try:
            raw = await self.store.get_bytes(_record_key(job_id))
        except ObjectMissingError:
            raise JobNotFoundError(f"no job {job_id!r}") from None
        try:
            job = Job.model_validate_json(raw)
        except ValidationError as error:
            raise CorruptRecordError(f"the record of job {job_id} is unreadable: {error.errors()[0]['msg']}") from None
        self._remember(job)
        return job

    async def delete(self, job: Job) -> list[str]:
        """Remove every object of ``job`` and then its record; returns the keys removed.

        The pending marker goes first (nothing resumes a half-deleted job), the record last (a
        crash midway leaves a record the client can delete again).
        """
        keys = [_pending_key(job.job_id)]
        if job.callback is not None:
            keys += [webhook_pending_key(job.job_id), webhook_key(job.job_id)]
        keys += [stored.key for stored in (job.original, job.result, job.metadata_object) if stored is not None]
        keys += await self.store.list_keys(outputs_prefix(job.job_id))
        keys += [index_key(job.job_id, created_ms(job)), _record_key(job.job_id)]
        for key in keys:
            await self.store.delete(key)
        self._cache.pop(job.job_id, None)
        return keys

    async def ensure_index(self) -> int:
        """Give every job recorded before the listing markers existed its marker, once per store;
        returns how many were added. A one-time walk over ``jobs/`` (names, then each unmarked
        record); afterwards ``index-complete`` makes it a single read."""
        try:
            await self.store.get_bytes(INDEX_COMPLETE_KEY)
            return 0
        except ObjectMissingError:
            pass
        records = await self.store.list_keys("jobs/")
        if not records:  # a new store: every job it will hold gets its marker when created
            return 0
        marked = {parsed[1] for key in await self.store.list_keys(INDEX_PREFIX) if (parsed := parse_index_key(key))}
        added = 0
        for key in records:
            job_id = key.removeprefix("jobs/").removesuffix(".json")
            if job_id in marked or not JOB_ID.match(job_id):
                continue
            try:
                job = await self.get(job_id)
            except (JobNotFoundError, CorruptRecordError) as error:
                logger.warning("not listed: %s", error)
                continue
            await self.store.put_bytes(index_key(job.job_id, created_ms(job)), b"", "application/octet-stream")
            added += 1
        await self.store.put_bytes(INDEX_COMPLETE_KEY, b"", "application/octet-stream")
        if added:
            logger.info("listing: %d job(s) recorded before the index got their marker", added)
        return added

    async def mark_due(self, kind: str, job_id: str, due: datetime) -> None:
        await self.store.put_bytes(retention_key(kind, job_id, due), b"", "application/octet-stream")

    async def due(self, kind: str, at: float, limit: int) -> list[tuple[str, str]]:
        """(marker key, job id) of the earliest ``limit`` markers of ``kind`` due by ``at`` (epoch s)."""
        markers = [(key, *parse_retention_key(key)) for key in await self.store.list_keys(f"retention/{kind}/", limit)]
        return [(key, job_id) for key, when, job_id in markers if when <= at]

    async def unfinished(self) -> list[Job]:
        """Every job left queued or running (by a previous process), oldest first."""
        jobs: list[Job] = []
        for key in await self.store.list_keys("pending/"):
            job_id = key.removeprefix("pending/")
            try:
                job = await self.get(job_id)
            except JobNotFoundError:
                logger.warning("dropping pending marker %s: the job record was never written", key)
                await self.store.delete(key)
                continue
            except CorruptRecordError as error:  # one damaged record must not stop the gateway
                logger.error("%s; the job is recorded as failed", error)
                await self.finish(Job(job_id=job_id, status=JobStatus.failed, finished_at=now(),
                                      error=JobError(error=error.code, detail=str(error))))
                continue
            if job.status.finished:
                await self.store.delete(key)
            else:
                jobs.append(job)
        return sorted(jobs, key=lambda job: job.created_at)

    def _remember(self, job: Job) -> None:
        self._cache[job.job_id] = job
        self._cache.move_to_end(job.job_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
