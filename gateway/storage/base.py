"""One storage interface; implementations do blocking I/O that the async methods run in threads.

Every async call is bounded: past ``timeout_s`` it raises StorageError (the thread may finish its
call later; S3 calls are bounded by botocore's own timeouts too), so a hung store never wedges a
request or a job.
"""

from __future__ import annotations

import asyncio
import io
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from gateway.core.errors import StorageError

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 60.0


class Store(ABC):
    """A flat key space of durable objects (``originals/…``, ``results/…``, ``jobs/…``).

    A ``put`` returns only once the object is durable: flushed to disk, or acknowledged by S3.
    """

    timeout_s: float = DEFAULT_TIMEOUT_S

    @abstractmethod
    def location(self, key: str) -> str:
        """Where the object lives, as a URL (``file:///…`` or ``s3://bucket/…``)."""

    @abstractmethod
    def _put_file(self, key: str, source: BinaryIO, content_type: str) -> int:
        """Copy seekable ``source`` from its position to ``key`` in chunks (it may be closed after); returns the size."""

    @abstractmethod
    def _get_bytes(self, key: str) -> bytes:
        """The whole object; raises ObjectMissingError."""

    @abstractmethod
    def _delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    @abstractmethod
    def _list_keys(self, prefix: str, limit: int | None = None, start_after: str | None = None) -> list[str]:
        """Keys that start with ``prefix``, sorted; only those after ``start_after`` when given; the
        first ``limit`` of them when given."""

    @abstractmethod
    def _check(self) -> None:
        """Raise StorageError unless the store can be read and written."""

    def _ping(self, timeout_s: float) -> None:
        """Like ``_check``, answered within about ``timeout_s``; stores with slow checks override it."""
        self._check()

    def close(self) -> None:
        """Release clients; the default has nothing to release."""
        return None

    async def put_file(self, key: str, source: BinaryIO, content_type: str) -> int:
        return await bounded(f"writing {key}", self.timeout_s, self._put_file, key, source, content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        return await self.put_file(key, io.BytesIO(data), content_type)

    async def get_bytes(self, key: str) -> bytes:
        return await bounded(f"reading {key}", self.timeout_s, self._get_bytes, key)

    async def delete(self, key: str) -> None:
        await bounded(f"deleting {key}", self.timeout_s, self._delete, key)

    async def list_keys(self, prefix: str, limit: int | None = None, start_after: str | None = None) -> list[str]:
        return await bounded(f"listing {prefix}", self.timeout_s, self._list_keys, prefix, limit, start_after)

    async def check(self) -> None:
        await bounded("checking the store", self.timeout_s, self._check)

    async def ping(self, timeout_s: float) -> None:
        """Raise StorageError unless the store answers a read-and-write check within ``timeout_s``.

        Meant for readiness probes: it never waits longer than ``timeout_s``, even while the
        store hangs (S3 uses a client with that connect/read timeout and no retries).
        """
        await bounded("storage ping", timeout_s, self._ping, timeout_s)


async def bounded(what: str, timeout_s: float, call: Callable[..., T], *args: object, hint: str = "") -> T:
    """``call(*args)`` in a worker thread; StorageError naming ``what`` (and ``hint``, e.g. the
    setting) when it has not answered within ``timeout_s`` seconds."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(call, *args), timeout_s)
    except asyncio.TimeoutError:
        raise StorageError(f"{what}: no answer within {timeout_s:g} s{hint}") from None
