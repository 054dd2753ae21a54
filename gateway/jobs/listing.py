"""``GET /v1/jobs``: pages of jobs, newest first, read from the ``index/`` markers.

Each job has one empty marker ``index/<rms>-<id>`` whose key sorts newest first (see
:func:`gateway.jobs.repository.index_key`), so a page is one listing that starts after the cursor
(S3: ``StartAfter``, one LIST request per 1000 markers) plus one record read per marker looked at.
A time window moves the start (``created_before``) and ends the walk (``created_after``) without
reading the markers outside it. A status filter reads records until the page is full, at most
``SCAN_FACTOR`` times the page size; a page may then be short (even empty) while ``next_cursor``
says where the next one starts. Nothing holds more than one page of records in memory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from dataclasses import dataclass, field
from datetime import datetime

from gateway.core.errors import CorruptRecordError, InvalidRequestError, JobNotFoundError
from gateway.jobs.models import Job, JobStatus
from gateway.jobs.repository import INDEX_PREFIX, JobRepository, index_bound, parse_index_key

logger = logging.getLogger(__name__)

SCAN_FACTOR = 10  # markers looked at per page, as a multiple of the page size, when filtering by status
READS_AT_ONCE = 16  # job records read concurrently


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a listing shows: any of ``statuses`` (empty: all), created in [after, before)."""

    statuses: frozenset[JobStatus] = field(default_factory=frozenset)
    created_after: datetime | None = None
    created_before: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("created_after", "created_before"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise InvalidRequestError(f"{name} needs a time zone, e.g. 2024-05-01T10:00:00Z")
        if self.created_after and self.created_before and self.created_after >= self.created_before:
            raise InvalidRequestError("created_after must be earlier than created_before")

    def matches(self, job: Job) -> bool:
        if self.statuses and job.status not in self.statuses:
            return False
        if self.created_after is not None and job.created_at < self.created_after:
            return False
        return self.created_before is None or job.created_at < self.created_before


@dataclass
class JobPage:
    jobs: list[Job]
    next_cursor: str | None = None


def encode_cursor(key: str) -> str:
    """The opaque cursor of the marker a page ended at."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The marker key inside ``cursor``; InvalidRequestError when it is not one this gateway gave."""
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if parse_index_key(key) is None:
        raise InvalidRequestError("cursor is not one this gateway gave (pass next_cursor back unchanged)")
    return key


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


async def list_jobs(repository: JobRepository, wanted: JobFilter, limit: int, cursor: str | None = None) -> JobPage:
    """Up to ``limit`` jobs matching ``wanted``, newest first, after ``cursor``.

    Raises InvalidRequestError for a cursor this gateway did not give, StorageError when the store
    does not answer.
    """
    start = decode_cursor(cursor) if cursor else None
    if wanted.created_before is not None:  # skip the markers of jobs created at or after its ms + 1
        bound = index_bound(_ms(wanted.created_before) + 1)
        start = max(start, bound) if start else bound
    oldest_ms = _ms(wanted.created_after) if wanted.created_after is not None else None
    budget = limit * SCAN_FACTOR if wanted.statuses else limit + READS_AT_ONCE
    found: list[Job] = []
    while budget > 0:
        keys = await repository.store.list_keys(INDEX_PREFIX, limit=min(budget, 1000), start_after=start)
        if not keys:
            return JobPage(found, None)
        for offset in range(0, len(keys), READS_AT_ONCE):
            chunk = keys[offset : offset + READS_AT_ONCE]
            if oldest_ms is not None and chunk and _created_ms(chunk[0]) < oldest_ms:
                return JobPage(found, None)
            for key, job in zip(chunk, await asyncio.gather(*(_read(repository, key) for key in chunk)), strict=True):
                budget -= 1
                start = key
                if oldest_ms is not None and _created_ms(key) < oldest_ms:
                    return JobPage(found, None)  # every later marker is older still
                if job is not None and wanted.matches(job):
                    found.append(job)
                    if len(found) == limit:
                        return JobPage(found, encode_cursor(key))
    return JobPage(found, encode_cursor(start) if start else None)


def _created_ms(key: str) -> int:
    parsed = parse_index_key(key)
    return parsed[0] if parsed else 0


async def _read(repository: JobRepository, key: str) -> Job | None:
    """The job a marker names; None when its record is gone (deleted meanwhile) or unreadable."""
    parsed = parse_index_key(key)
    if parsed is None:
        return None
    try:
        return await repository.get(parsed[1])
    except JobNotFoundError:
        return None
    except CorruptRecordError as error:
        logger.warning("listing skips job %s: %s", parsed[1], error)
        return None
