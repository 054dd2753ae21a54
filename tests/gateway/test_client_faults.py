"""Client faults get a named 4xx JSON error, never a plain-text 500, and never hang the gateway:
huge numbers, deeply nested JSON, NUL bytes, FIFOs and folders in an allowed root, admin routes
naming no model (or a path). Over real HTTP, with a Triton address nothing listens on."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.errors import NotAFileError
from gateway.jobs.sources import _read_file
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.photos import photo_bytes

KEY = "client-faults-key"
HEADERS = {"X-API-Key": KEY}
DEEP = 100_000  # far past Python's recursion limit


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inputs")
    (root / "zidane.jpg").write_bytes(photo_bytes("zidane.jpg"))
    os.mkfifo(root / "pipe.jpg")
    (root / "folder.jpg").mkdir()
    return root


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repository = tmp_path_factory.mktemp("admin") / "model_repository"
    (repository / "detect").mkdir(parents=True)
    (repository / "detect" / "config.pbtxt").write_text('name: "detect"\nbackend: "onnxruntime"\n')
    return repository


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, root: Path, repository: Path) -> RunningGateway:
    return gateway_factory(allowed_roots=[root], api_keys=[KEY], model_repository=repository)


def client(gateway: RunningGateway) -> httpx.Client:
    return gateway.client(headers=HEADERS, timeout=30)


def assert_named(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.headers["content-type"] == "application/json", reply.text[:200]
    body = reply.json()
    assert (reply.status_code, body["error"]) == (status, code), body
    assert body["detail"]
    return body


@pytest.mark.parametrize("route", ["/v1/jobs", "/v1/process"])
def test_a_5000_digit_priority_is_422(gateway: RunningGateway, route: str) -> None:
    with client(gateway) as http:
        reply = http.post(route, files={"file": ("z.jpg", photo_bytes("zidane.jpg"))}, data={"priority": "9" * 5000})
    assert "priority" in assert_named(reply, 422, "invalid_request")["detail"]


def test_a_5000_digit_priority_in_json_is_422(gateway: RunningGateway, root: Path) -> None:
    body = f'{{"input_image": "{root / "zidane.jpg"}", "priority": {"9" * 5000}}}'
    with client(gateway) as http:
        reply = http.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert_named(reply, 422, "invalid_request")


@pytest.mark.parametrize(
    "fields",
    [
        {"options": '{"a":' * DEEP + "1" + "}" * DEEP},
        {"options": '{"quality": ' + "9" * 5000 + "}"},
        {"operations": "[" * DEEP + "]" * DEEP},
    ],
    ids=["nested-options", "long-number", "nested-operations"],
)
@pytest.mark.parametrize("route", ["/v1/jobs", "/v1/process", "/v1/jobs/batch"])
def test_deep_or_huge_json_fields_are_422(gateway: RunningGateway, route: str, fields: dict[str, str]) -> None:
    name = "files" if route.endswith("batch") else "file"
    with client(gateway) as http:
        reply = http.post(route, files={name: ("z.jpg", photo_bytes("zidane.jpg"))}, data=fields)
    assert_named(reply, 422, "invalid_request")


@pytest.mark.parametrize("member", ["options", "operations"])
def test_deeply_nested_json_body_is_422(gateway: RunningGateway, root: Path, member: str) -> None:
    nested = '{"a":' * DEEP + "1" + "}" * DEEP if member == "options" else "[" + '{"a":' * DEEP + "1" + "}" * DEEP + "]"
    body = f'{{"input_image": "{root / "zidane.jpg"}", "{member}": {nested}}}'
    with client(gateway) as http:
        reply = http.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert_named(reply, 422, "invalid_request")


@pytest.mark.parametrize("member", ["input_image", "output_image"])
def test_nul_byte_in_a_path_is_422(gateway: RunningGateway, root: Path, member: str) -> None:
    body = {"input_image": str(root / "zidane.jpg"), member: f"{root}/zi\x00dane.jpg"}
    with client(gateway) as http:
        reply = http.post("/v1/jobs", json=body)
    assert "NUL" in assert_named(reply, 422, "invalid_request")["detail"]


@pytest.mark.parametrize("name", ["pipe.jpg", "folder.jpg"])
def test_fifo_or_folder_in_an_allowed_root_is_refused_at_once(gateway: RunningGateway, root: Path, name: str) -> None:
    """Eight at once: each answered within seconds, and the gateway keeps serving uploads after."""

    async def eight() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=gateway.url, headers=HEADERS, timeout=20) as http:
            calls = [http.post("/v1/jobs", json={"input_image": str(root / name)}) for _ in range(8)]
            return await asyncio.gather(*calls)

    started = time.monotonic()
    replies = asyncio.run(eight())
    assert time.monotonic() - started < 10
    for reply in replies:
        assert "not a regular file" in assert_named(reply, 422, "not_a_regular_file")["detail"]
    with client(gateway) as http:
        assert http.post("/v1/jobs", json={"input_image": str(root / "zidane.jpg")}).status_code == 202
        assert http.post("/v1/jobs", files={"file": ("z.jpg", photo_bytes("zidane.jpg"))}).status_code == 202


def test_a_fifo_swapped_in_after_the_check_does_not_block_the_read(root: Path) -> None:
    """The reader itself opens without blocking and insists on a regular file (no writer is ever attached)."""
    started = time.monotonic()
    with pytest.raises(NotAFileError, match="FIFO"):
        _read_file(root / "pipe.jpg", 1000)
    assert time.monotonic() - started < 5, "a blocking open would never return"


def test_a_device_in_an_allowed_root_is_refused(gateway: RunningGateway, root: Path) -> None:
    device = root / "null.jpg"
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers
    except PermissionError:
        pytest.skip("creating a device node needs root")
    with client(gateway) as http:
        reply = http.post("/v1/jobs", json={"input_image": str(device)})
    assert "character device" in assert_named(reply, 422, "not_a_regular_file")["detail"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/models/nosuch/swap", 404, "model_not_found"),
        ("/v1/models/nosuch/load", 404, "model_not_found"),
        ("/v1/models/nosuch/rollback", 404, "model_not_found"),
        ("/v1/models/de%00tect/swap", 422, "invalid_request"),
        ("/v1/models/%2E%2E/swap", 422, "invalid_request"),
        ("/v1/models/%2E%2E/pins", 422, "invalid_request"),
    ],
)
def test_admin_routes_check_model_names(gateway: RunningGateway, repository: Path, path: str, status: int, code: str) -> None:
    before = sorted(repository.parent.rglob("*"))
    with client(gateway) as http:
        reply = http.post(path, json={"version": 1})
    body = assert_named(reply, status, code)
    if code == "model_not_found":
        assert "detect" in body["detail"], "lists the repository's models"
    assert sorted(repository.parent.rglob("*")) == before


def test_dot_dot_swap_sent_verbatim_creates_nothing(gateway: RunningGateway, repository: Path) -> None:
    """``POST /v1/models/../swap`` exactly as curl --path-as-is sends it (httpx would normalise it)."""
    before = sorted(repository.parent.rglob("*"))
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    try:
        connection.request("POST", "/v1/models/../swap", body=b'{"version": 1}',
                           headers={**HEADERS, "Content-Type": "application/json"})
        reply = connection.getresponse()
        status, body = reply.status, json.loads(reply.read())
    finally:
        connection.close()
    assert (status, body["error"]) == (422, "invalid_request"), body
    assert sorted(repository.parent.rglob("*")) == before


def test_an_unexpected_exception_is_json_500(gateway: RunningGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(job_id: str) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(gateway.server.config.app.state.services.jobs, "get", broken)
    with client(gateway) as http:
        reply = http.get(f"/v1/jobs/{'0' * 32}")
    assert "RuntimeError" in assert_named(reply, 500, "internal_error")["detail"]


def test_output_image_that_is_a_folder_or_fifo_is_refused_before_queueing(gateway: RunningGateway, root: Path) -> None:
    with client(gateway) as http:
        for name in ("folder.jpg", "pipe.jpg"):
            reply = http.post("/v1/jobs", json={"input_image": str(root / "zidane.jpg"), "output_image": str(root / name)})
            assert_named(reply, 422, "not_a_regular_file")
