"""Durable object storage: a local folder (default) or any S3-compatible bucket."""

from __future__ import annotations

from pathlib import Path

from gateway.storage.base import Store
from gateway.storage.local import LocalStore
from gateway.storage.s3 import S3Client, S3Store

__all__ = ["LocalStore", "S3Store", "Store", "open_store"]


def open_store(storage_url: str, s3_client: S3Client | None, multipart_threshold_bytes: int) -> Store:
    """``s3://bucket[/prefix]`` -> S3Store over ``s3_client``; anything else is a local folder."""
    if storage_url.startswith("s3://"):
        if s3_client is None:
            raise ValueError("an s3:// storage URL needs an S3 client")
        return S3Store(s3_client, storage_url, multipart_threshold_bytes)
    path = storage_url.removeprefix("file://")
    return LocalStore(Path(path).expanduser())
