"""A store that hangs (an endpoint that accepts connections and never answers) costs a bounded
wait: ``ping(timeout)`` for readiness probes, ``timeout_s`` for every other call."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from gateway.core.errors import StorageError
from gateway.storage import open_store
from gateway.storage.s3 import make_s3_client
from tests.gateway.conftest import S3_CREDENTIALS


@pytest.fixture
def hung_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A listening socket nobody accepts from: connections succeed, no byte ever comes back."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def elapsed(call: Callable[[], Awaitable[object]]) -> float:
    """Seconds until ``call()`` raised StorageError; the loop does not wait for a thread still blocked."""
    loop = asyncio.new_event_loop()
    started = time.monotonic()
    try:
        with pytest.raises(StorageError):
            loop.run_until_complete(call())
        return time.monotonic() - started
    finally:
        loop.close()  # shuts its executor down without waiting


def test_ping_of_a_hung_s3_answers_within_its_timeout(hung_endpoint: str) -> None:
    client = make_s3_client(hung_endpoint, "us-east-1", connect_timeout_s=30, read_timeout_s=30, max_attempts=5)
    store = open_store("s3://bucket/prefix", client, 8 * 1024 * 1024, timeout_s=60)
    try:
        assert elapsed(lambda: store.ping(0.5)) < 3
    finally:
        store.close()


def test_every_call_on_a_hung_s3_is_bounded(hung_endpoint: str) -> None:
    client = make_s3_client(hung_endpoint, "us-east-1", connect_timeout_s=1, read_timeout_s=1, max_attempts=1)
    store = open_store("s3://bucket", client, 8 * 1024 * 1024, timeout_s=30)
    try:
        assert elapsed(lambda: store.get_bytes("jobs/x.json")) < 5, "botocore's read timeout"
        store.timeout_s = 0.5
        slow = make_s3_client(hung_endpoint, "us-east-1", connect_timeout_s=4, read_timeout_s=4, max_attempts=2)
        store.client = slow
        assert elapsed(lambda: store.put_bytes("jobs/x.json", b"{}", "application/json")) < 3, "the store's own bound"
        slow.close()
    finally:
        store.close()


def test_ping_of_a_local_store(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "storage"), None, 8 * 1024 * 1024)
    asyncio.run(store.ping(1.0))
    (tmp_path / "storage").rmdir()
    with pytest.raises(StorageError, match="not writable"):
        asyncio.run(store.ping(1.0))
