"""Both store implementations, the S3 one against moto's S3 server on loopback."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.core.errors import ObjectMissingError, StorageError
from gateway.storage import LocalStore, S3Store, Store, open_store
from gateway.storage.s3 import make_s3_client
from tests.gateway.conftest import make_bucket

THRESHOLD = 5 * 1024 * 1024  # S3's smallest part size


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        yield open_store(str(tmp_path / "storage"), None, THRESHOLD)
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"store-{os.urandom(4).hex()}"
    make_bucket(endpoint, bucket)
    s3 = open_store(f"s3://{bucket}/gateway", make_s3_client(endpoint, "us-east-1"), THRESHOLD)
    yield s3
    s3.close()


def test_put_get_list_delete(store: Store) -> None:
    async def scenario() -> None:
        assert await store.put_bytes("originals/a.jpg", b"photo", "image/jpeg") == 5
        await store.put_bytes("results/a.jpg", b"blurred", "image/jpeg")
        assert await store.get_bytes("originals/a.jpg") == b"photo"
        assert await store.list_keys("originals/") == ["originals/a.jpg"]
        await store.delete("originals/a.jpg")
        assert await store.list_keys("originals/") == []
        with pytest.raises(ObjectMissingError):
            await store.get_bytes("originals/a.jpg")
        await store.check()

    asyncio.run(scenario())


def test_large_objects_stream_in_parts(store: Store) -> None:
    payload = os.urandom(THRESHOLD + 1024 * 1024)
    source = io.BytesIO(payload)
    assert asyncio.run(store.put_file("originals/big.tif", source, "image/tiff")) == len(payload)
    assert asyncio.run(store.get_bytes("originals/big.tif")) == payload


def test_s3_objects_carry_content_type_and_multipart_etag(s3_endpoint: str) -> None:
    make_bucket(s3_endpoint, "typed")
    client = make_s3_client(s3_endpoint, "us-east-1")
    store = S3Store(client, "s3://typed", THRESHOLD)
    asyncio.run(store.put_file("results/x.png", io.BytesIO(os.urandom(THRESHOLD + 10)), "image/png"))
    head = client.head_object(Bucket="typed", Key="results/x.png")
    assert head["ContentType"] == "image/png"
    assert head["ETag"].strip('"').endswith("-2"), "uploaded in two parts"
    assert store.location("results/x.png") == "s3://typed/results/x.png"
    store.close()


def test_missing_bucket_is_a_storage_error(s3_endpoint: str) -> None:
    store = S3Store(make_s3_client(s3_endpoint, "us-east-1"), "s3://no-such-bucket", THRESHOLD)
    with pytest.raises(StorageError):
        asyncio.run(store.check())
    store.close()


def test_local_keys_cannot_escape_the_folder(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "storage")
    with pytest.raises(StorageError, match="escapes"):
        asyncio.run(store.put_bytes("../outside.jpg", b"x", "image/jpeg"))
    assert store.location("jobs/a.json").startswith("file:///")


def test_retention_markers_come_back_earliest_first_and_bounded(store: Store) -> None:
    """The sweep's bounded read: the first ``limit`` markers in due order, only those already due."""
    from datetime import datetime, timezone

    from gateway.jobs.repository import JobRepository

    repository = JobRepository(store)
    dues = {f"{index:032x}": datetime.fromtimestamp(1_000_000 + 10 * index, timezone.utc) for index in (5, 1, 3, 2, 4)}

    async def scenario() -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
        for job_id, due in dues.items():
            await repository.mark_due("originals", job_id, due)
        first_two = await repository.due("originals", at=2_000_000, limit=2)
        due_by = await repository.due("originals", at=1_000_025, limit=10)
        return first_two, due_by, await store.list_keys("retention/originals/", limit=3)

    first_two, due_by, listed = asyncio.run(scenario())
    assert [job_id for _, job_id in first_two] == [f"{1:032x}", f"{2:032x}"]
    assert [job_id for _, job_id in due_by] == [f"{index:032x}" for index in (1, 2)]
    assert len(listed) == 3 and listed == sorted(listed)
