"""One storage interface; implementations do blocking I/O that the async methods run in threads."""

from __future__ import annotations

import asyncio
import io
from abc import ABC, abstractmethod
from typing import BinaryIO


class Store(ABC):
    """A flat key space of durable objects (``originals/…``, ``results/…``, ``jobs/…``).

    A ``put`` returns only once the object is durable: flushed to disk, or acknowledged by S3.
    """

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
    def _list_keys(self, prefix: str) -> list[str]:
        """Keys that start with ``prefix``."""

    @abstractmethod
    def _check(self) -> None:
        """Raise StorageError unless the store can be read and written."""

    def close(self) -> None:
        """Release clients; the default has nothing to release."""

    async def put_file(self, key: str, source: BinaryIO, content_type: str) -> int:
        return await asyncio.to_thread(self._put_file, key, source, content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        return await self.put_file(key, io.BytesIO(data), content_type)

    async def get_bytes(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get_bytes, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    async def list_keys(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._list_keys, prefix)

    async def check(self) -> None:
        await asyncio.to_thread(self._check)
