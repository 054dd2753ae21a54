"""Inputs and outputs named by the client: local paths confined to allowed roots, ``s3://``
objects confined to allowed buckets. Everything else is refused, naming the rule."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from gateway.core.errors import (
    AccessDeniedError,
    InvalidRequestError,
    NotAFileError,
    ObjectMissingError,
    SourceNotFoundError,
    StorageError,
    UploadTooLargeError,
)
from gateway.storage.base import bounded
from gateway.storage.s3 import S3Client, parse_s3_url, read_object, s3_errors
from triton_launcher.files import write_atomic


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str


Target = Path | S3Object
T = TypeVar("T")


class ObjectAccess:
    """Checks a reference against the policy, then reads or writes it."""

    def __init__(
        self, roots: Sequence[Path], buckets: Sequence[str], s3_client: S3Client | None, timeout_s: float = 60.0
    ) -> None:
        self.roots = tuple(root.expanduser().resolve() for root in roots)
        self.buckets = frozenset(buckets)
        self.s3_client = s3_client
        self.timeout_s = timeout_s

    def resolve(self, reference: str) -> Target:
        """The path or object ``reference`` names; AccessDeniedError, NotAFileError or InvalidRequestError."""
        if "\x00" in reference:
            raise InvalidRequestError("a path or object name contains a NUL byte")
        if reference.startswith("s3://"):
            return self._object(reference)
        if "://" in reference and not reference.startswith("file://"):
            raise AccessDeniedError(f"{reference!r}: only s3:// URLs and local paths are accepted")
        return self._path(reference.removeprefix("file://"))

    def _object(self, reference: str) -> S3Object:
        try:
            bucket, key = parse_s3_url(reference)
        except ValueError as error:
            raise AccessDeniedError(str(error)) from None
        if bucket not in self.buckets or self.s3_client is None:
            raise AccessDeniedError(f"bucket {bucket!r} is not in the allow-list (GATEWAY_ALLOWED_BUCKETS)")
        if not key or key.endswith("/"):
            raise AccessDeniedError(f"{reference!r} names no object key")
        return S3Object(bucket, key)

    def _path(self, raw: str) -> Path:
        path = Path(raw)
        if not path.is_absolute():
            raise AccessDeniedError(f"{raw!r} is a relative path: give an absolute path under an allowed root")
        if not self.roots:
            raise AccessDeniedError("local paths are disabled: no allowed roots (GATEWAY_ALLOWED_ROOTS)")
        resolved = path.resolve()  # follows symlinks and '..': what would really be opened
        if not any(resolved.is_relative_to(root) and resolved != root for root in self.roots):
            raise AccessDeniedError(f"{raw!r} is outside the allowed roots (GATEWAY_ALLOWED_ROOTS)")
        _require_regular(resolved)
        return resolved

    async def read(self, target: Target, max_bytes: int) -> bytes:
        """The bytes of a regular file or an object, within ``timeout_s`` (else StorageError)."""
        if isinstance(target, S3Object):
            return await self._bounded(f"reading {target}", self._read_object, target, max_bytes)
        return await self._bounded(f"reading {target}", _read_file, target, max_bytes)

    async def write(self, target: Target, data: bytes, content_type: str) -> None:
        if isinstance(target, S3Object):
            await self._bounded(f"writing {target}", self._write_object, target, data, content_type)
        else:
            await self._bounded(f"writing {target}", _write_file, target, data)

    async def _bounded(self, what: str, call: Callable[..., T], *args: object) -> T:
        return await bounded(what, self.timeout_s, call, *args, hint=" (GATEWAY_STORAGE_TIMEOUT_S)")

    def _read_object(self, target: S3Object, max_bytes: int) -> bytes:
        try:
            return read_object(self.s3_client, target.bucket, target.key, max_bytes)
        except ObjectMissingError:
            raise SourceNotFoundError(f"s3://{target.bucket}/{target.key} does not exist") from None
        except OverflowError as error:
            raise UploadTooLargeError(f"{error}, above the limit of {max_bytes} (GATEWAY_MAX_UPLOAD_BYTES)") from None

    def _write_object(self, target: S3Object, data: bytes, content_type: str) -> None:
        with s3_errors(f"writing s3://{target.bucket}/{target.key}"):
            self._client(target).put_object(Bucket=target.bucket, Key=target.key, Body=data, ContentType=content_type)

    def _client(self, target: S3Object) -> S3Client:
        """The S3 client (``_object`` refuses every bucket when there is none)."""
        if self.s3_client is None:
            raise AccessDeniedError(f"bucket {target.bucket!r} is not in the allow-list (GATEWAY_ALLOWED_BUCKETS)")
        return self.s3_client


def _require_regular(path: Path) -> None:
    """Refuse a FIFO, device, socket or folder at ``path`` (a missing path is for the caller to handle)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise NotAFileError(f"{path} is {_kind(mode)}, not a regular file")


def _kind(mode: int) -> str:
    kinds = {stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
             stat.S_ISSOCK: "a socket", stat.S_ISDIR: "a folder"}
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


def _read_file(path: Path, max_bytes: int) -> bytes:
    """Open without blocking (a FIFO swapped in after the check cannot hang us), then insist on a regular file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except (FileNotFoundError, NotADirectoryError):
        raise SourceNotFoundError(f"{path} does not exist or is not a file") from None
    except PermissionError:
        raise AccessDeniedError(f"{path} is not readable by the gateway") from None
    except OSError as error:
        raise NotAFileError(f"{path} cannot be opened as a regular file: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as source:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise NotAFileError(f"{path} is {_kind(status.st_mode)}, not a regular file")
        if status.st_size > max_bytes:
            raise UploadTooLargeError(f"{path} is {status.st_size} bytes, above the limit of {max_bytes} (GATEWAY_MAX_UPLOAD_BYTES)")
        return source.read(max_bytes + 1)


def _write_file(path: Path, data: bytes) -> None:
    """Atomically (triton_launcher.files.write_atomic); a folder, FIFO or device at ``path`` is NotAFileError."""
    _require_regular(path)
    try:
        write_atomic(path, data)
    except OSError as error:
        raise StorageError(f"cannot write {path}: {error}") from error
