"""The embedded default: objects as files under one folder, written atomically and fsynced."""

from __future__ import annotations

import bisect
import logging
import os
from pathlib import Path
from typing import BinaryIO

from gateway.core.errors import ObjectMissingError, StorageError
from gateway.storage.base import Store
from triton_launcher.files import write_atomic

logger = logging.getLogger(__name__)


class LocalStore(Store):
    """``key`` is the path of a file below ``root``; the content type lives in the job record."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        logger.info("storage: local folder %s", self.root)

    def location(self, key: str) -> str:
        return self._path(key).as_uri()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise StorageError(f"key {key!r} escapes the storage folder")
        return path

    def _put_file(self, key: str, source: BinaryIO, content_type: str) -> int:
        path = self._path(key)
        try:
            written = write_atomic(path, source)
        except OSError as error:
            raise StorageError(f"cannot write {path}: {error}") from error
        return written

    def _get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ObjectMissingError(f"no object {key!r} in {self.root}") from None
        except OSError as error:
            raise StorageError(f"cannot read {path}: {error}") from error

    def _delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _list_keys(self, prefix: str, limit: int | None = None, start_after: str | None = None) -> list[str]:
        """Every file name below the prefix's folder is read (names only), then sorted and cut."""
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not folder.is_dir():
            return []
        files = (path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
        keys = sorted(path.relative_to(self.root).as_posix() for path in files)
        if start_after is not None:
            keys = keys[bisect.bisect_right(keys, start_after):]
        return keys[:limit]

    def _check(self) -> None:
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageError(f"storage folder {self.root} is not writable")
