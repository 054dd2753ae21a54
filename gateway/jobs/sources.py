"""Inputs and outputs named by the client: local paths confined to allowed roots, ``s3://``
objects confined to allowed buckets. Everything else is refused, naming the rule."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.core.errors import (
    AccessDeniedError,
    ObjectMissingError,
    SourceNotFoundError,
    StorageError,
    UploadTooLargeError,
)
from gateway.storage.s3 import S3Client, parse_s3_url, read_object, s3_errors


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str


Target = Path | S3Object


class ObjectAccess:
    """Checks a reference against the policy, then reads or writes it."""

    def __init__(self, roots: Sequence[Path], buckets: Sequence[str], s3_client: S3Client | None) -> None:
        self.roots = tuple(root.expanduser().resolve() for root in roots)
        self.buckets = frozenset(buckets)
        self.s3_client = s3_client

    def resolve(self, reference: str) -> Target:
        """The path or object ``reference`` names, or AccessDeniedError."""
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
        return resolved

    async def read(self, target: Target, max_bytes: int) -> bytes:
        if isinstance(target, S3Object):
            return await asyncio.to_thread(self._read_object, target, max_bytes)
        return await asyncio.to_thread(_read_file, target, max_bytes)

    async def write(self, target: Target, data: bytes, content_type: str) -> None:
        if isinstance(target, S3Object):
            await asyncio.to_thread(self._write_object, target, data, content_type)
        else:
            await asyncio.to_thread(_write_file, target, data)

    def _read_object(self, target: S3Object, max_bytes: int) -> bytes:
        try:
            return read_object(self.s3_client, target.bucket, target.key, max_bytes)
        except ObjectMissingError:
            raise SourceNotFoundError(f"s3://{target.bucket}/{target.key} does not exist") from None
        except OverflowError as error:
            raise UploadTooLargeError(f"{error}, above the limit of {max_bytes} (GATEWAY_MAX_UPLOAD_BYTES)") from None

    def _write_object(self, target: S3Object, data: bytes, content_type: str) -> None:
        with s3_errors(f"writing s3://{target.bucket}/{target.key}"):
            self.s3_client.put_object(Bucket=target.bucket, Key=target.key, Body=data, ContentType=content_type)


def _read_file(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as source:
            size = os.fstat(source.fileno()).st_size
            if size > max_bytes:
                raise UploadTooLargeError(f"{path} is {size} bytes, above the limit of {max_bytes} (GATEWAY_MAX_UPLOAD_BYTES)")
            return source.read(max_bytes + 1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise SourceNotFoundError(f"{path} does not exist or is not a file") from None
    except PermissionError:
        raise AccessDeniedError(f"{path} is not readable by the gateway") from None


def _write_file(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(descriptor, "wb") as target:
            target.write(data)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise StorageError(f"cannot write {path}: {error}") from error
