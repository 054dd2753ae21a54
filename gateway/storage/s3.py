"""S3 (AWS, MinIO, any S3-compatible endpoint) through boto3; large objects go up in parts."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from gateway.core.errors import ObjectMissingError, StorageError
from gateway.storage.base import Store

S3Client = Any  # botocore builds the client class at run time

logger = logging.getLogger(__name__)

MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix``)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, key


def make_s3_client(
    endpoint_url: str | None, region: str | None, connect_timeout_s: float = 5.0, read_timeout_s: float = 30.0,
    max_attempts: int = 3,
) -> S3Client:
    """A boto3 S3 client (credentials from the usual AWS variables) with bounded waits.

    ``connect_timeout_s`` / ``read_timeout_s`` bound each socket wait; botocore retries a call
    (standard mode) up to ``max_attempts`` attempts in all, so one call waits at most about
    ``max_attempts * (connect + read)`` seconds.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=connect_timeout_s, read_timeout=read_timeout_s,
    )
    return boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region, config=config)


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """botocore's exceptions as StorageError / ObjectMissingError."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in MISSING_CODES:
            raise ObjectMissingError(f"{what}: no such object") from None
        raise StorageError(f"{what}: {error}") from error
    except BotoCoreError as error:
        raise StorageError(f"{what}: {error}") from error


def read_object(client: S3Client, bucket: str, key: str, max_bytes: int) -> bytes:
    """The object's bytes; raises OverflowError above ``max_bytes`` without downloading it."""
    with s3_errors(f"s3://{bucket}/{key}"):
        reply = client.get_object(Bucket=bucket, Key=key)
        body = reply["Body"]
        try:
            if int(reply.get("ContentLength", 0)) > max_bytes:
                raise OverflowError(f"s3://{bucket}/{key} is {reply['ContentLength']} bytes")
            return body.read()
        finally:
            body.close()


class S3Store(Store):
    """Objects under ``s3://bucket/prefix/``, each with its Content-Type."""

    def __init__(self, client: S3Client, url: str, multipart_threshold_bytes: int) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.bucket, prefix = parse_s3_url(url)
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold_bytes, multipart_chunksize=multipart_threshold_bytes
        )
        self._ping_clients: dict[float, S3Client] = {}
        self._ping_lock = threading.Lock()
        logger.info("storage: s3://%s/%s at %s", self.bucket, self.prefix, client.meta.endpoint_url)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def _put_file(self, key: str, source: BinaryIO, content_type: str) -> int:
        start = source.tell()
        size = source.seek(0, os.SEEK_END) - start
        source.seek(start)
        with s3_errors(f"writing {self.location(key)}"):  # s3transfer closes ``source`` when done
            self.client.upload_fileobj(
                source, self.bucket, self.prefix + key, ExtraArgs={"ContentType": content_type}, Config=self.transfer
            )
        return size

    def _get_bytes(self, key: str) -> bytes:
        return read_object(self.client, self.bucket, self.prefix + key, max_bytes=2**62)

    def _delete(self, key: str) -> None:
        with s3_errors(f"deleting {self.location(key)}"):
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def _list_keys(self, prefix: str, limit: int | None = None, start_after: str | None = None) -> list[str]:
        """S3 lists in key order from ``start_after``, so ``limit`` stops the listing early (bounded work)."""
        keys: list[str] = []
        extra = {"StartAfter": self.prefix + start_after} if start_after is not None else {}
        with s3_errors(f"listing {self.location(prefix)}"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix, PaginationConfig={"MaxItems": limit} if limit else {},
                **extra,
            )
            for page in pages:
                keys.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        return sorted(keys)[:limit]

    def _check(self) -> None:
        with s3_errors(f"bucket s3://{self.bucket}"):
            self.client.head_bucket(Bucket=self.bucket)

    def _ping(self, timeout_s: float) -> None:
        """HEAD the bucket with a client that waits at most ``timeout_s`` per socket and never retries."""
        with self._ping_lock:
            if timeout_s not in self._ping_clients:
                self._ping_clients[timeout_s] = make_s3_client(
                    self.client.meta.endpoint_url, self.client.meta.region_name, timeout_s, timeout_s, max_attempts=1
                )
            client = self._ping_clients[timeout_s]
        with s3_errors(f"bucket s3://{self.bucket}"):
            client.head_bucket(Bucket=self.bucket)

    def close(self) -> None:
        self.client.close()
        for client in self._ping_clients.values():
            client.close()
