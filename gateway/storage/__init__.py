"""Durable object storage: a local folder (default) or any S3-compatible bucket."""

from __future__ import annotations

from pathlib import Path

from gateway.storage.base import DEFAULT_TIMEOUT_S, Store
from gateway.storage.local import LocalStore
from gateway.storage.s3 import S3Client, S3Store

__all__ = ["LocalStore", "S3Store", "Store", "open_store"]


def open_store(
    storage_url: str, s3_client: S3Client | None, multipart_threshold_bytes: int, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Store:
    """``s3://bucket[/prefix]`` -> S3Store over ``s3_client``; anything else is a local folder.

    Each call on the store gives up with StorageError after ``timeout_s`` seconds.
    """
    store: Store
    if storage_url.startswith("s3://"):
        if s3_client is None:
            raise ValueError("an s3:// storage URL needs an S3 client")
        store = S3Store(s3_client, storage_url, multipart_threshold_bytes)
    else:
        store = LocalStore(Path(storage_url.removeprefix("file://")).expanduser())
    store.timeout_s = timeout_s
    return store
