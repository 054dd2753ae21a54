"""Model versions through the gateway: /v1/models, admin load / swap / pin / rollback, requests pinning detect.

A Triton of its own on a copy of the pipeline's models (the real repository is never modified).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from export.publish import publish_version
from export.smoke import validate_detect
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.photos import photo_bytes
from tests.triton.repositories import copy_repository, copy_version, write_broken_version
from triton_launcher import ServerConfig, TritonServer

pytestmark = pytest.mark.server

KEY = {"X-API-Key": "admin-key"}


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repository(tmp_path_factory.mktemp("admin") / "model_repository")


@pytest.fixture(scope="module")
def triton(repository: Path) -> Iterator[TritonServer]:
    with TritonServer(ServerConfig(model_repository=repository), log_path=repository.parent / "tritonserver.log") as server:
        yield server


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton: TritonServer, repository: Path) -> RunningGateway:
    return gateway_factory(triton_url=triton.grpc_url, model_repository=repository, api_keys=["admin-key"])


def detect_version(client: httpx.Client, **options: object) -> str:
    fields = {"options": json.dumps(options)} if options else {}
    reply = client.post("/v1/process", files={"file": ("a.png", photo_bytes("astronaut.png"))}, data=fields, headers=KEY)
    assert reply.status_code == 200, reply.text
    return json.loads(reply.headers["X-Metadata"])["versions"]["detect"]


def detect_status(client: httpx.Client) -> dict:
    reply = client.get("/v1/models", headers=KEY)
    assert reply.status_code == 200, reply.text
    return next(model for model in reply.json()["models"] if model["name"] == "detect")


def test_models_lists_versions_and_states(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        status = detect_status(client)
        assert status["ready"] == [1] and status["on_disk"] == [1]
        assert client.get("/v1/models").status_code == 401


def test_swap_then_pin_then_rollback(gateway: RunningGateway, repository: Path) -> None:
    publish_version(repository / "detect", copy_version(repository, "detect", 1), validate_detect)
    with gateway.client() as client:
        assert client.post("/v1/models/detect/swap", json={"version": 2}).status_code == 401
        reply = client.post("/v1/models/detect/swap", json={"version": 2}, headers=KEY)
        assert reply.status_code == 200, reply.text
        assert reply.json()["previous"] == [1] and reply.json()["current"] == 2
        assert detect_version(client) == "2"

        reply = client.post("/v1/models/detect/pins", json={"version": 1}, headers=KEY)
        assert reply.status_code == 200, reply.text
        assert detect_version(client, detect_version=1) == "1"
        assert detect_version(client) == "2"
        assert client.delete("/v1/models/detect/pins/1", headers=KEY).status_code == 200

        reply = client.post("/v1/models/detect/rollback", headers=KEY)
        assert reply.status_code == 200, reply.text
        assert reply.json()["current"] == 1 and detect_version(client) == "1"
        assert detect_status(client)["history"] == [1]


def test_broken_version_is_refused_and_the_old_one_serves(gateway: RunningGateway, repository: Path) -> None:
    broken = write_broken_version(repository, "detect", source=1)
    with gateway.client() as client:
        reply = client.post("/v1/models/detect/swap", json={"version": broken}, headers=KEY)
        assert reply.status_code == 422
        assert reply.json()["error"] == "model_load_failed" and "Protobuf parsing failed" in reply.json()["detail"]
        assert detect_version(client) == "1"


def test_load_reloads_a_model_from_its_files(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        assert client.post("/v1/models/detect/load").status_code == 401
        reply = client.post("/v1/models/detect/load", headers=KEY)
        assert reply.status_code == 200, reply.text
        assert reply.json()["name"] == "detect" and reply.json()["ready"] == detect_status(client)["ready"]
        assert detect_version(client) == str(reply.json()["ready"][-1])


def test_load_names_unknown_models_and_load_failures(gateway: RunningGateway, repository: Path) -> None:
    broken = repository / "broken"
    (broken / "1").mkdir(parents=True)
    (broken / "config.pbtxt").write_text('name: "broken"\nbackend: "onnxruntime"\n')
    (broken / "1" / "model.onnx").write_bytes(b"this is not an ONNX graph\n" * 64)
    with gateway.client() as client:
        unknown = client.post("/v1/models/nothing/load", headers=KEY)
        try:
            failed = client.post("/v1/models/broken/load", headers=KEY)
        finally:
            shutil.rmtree(broken)
        assert detect_version(client)  # the pipeline still serves
    assert (unknown.status_code, unknown.json()["error"]) == (404, "model_not_found")
    assert "'nothing'" in unknown.json()["detail"] and "detect" in unknown.json()["detail"]
    assert (failed.status_code, failed.json()["error"]) == (422, "model_load_failed"), failed.text
    assert "Triton could not load broken" in failed.json()["detail"]


def test_unknown_versions_are_named(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/models/detect/swap", json={"version": 99}, headers=KEY)
        assert reply.status_code == 404 and reply.json()["error"] == "version_not_found"
        reply = client.post("/v1/process", files={"file": ("a.png", photo_bytes("astronaut.png"))},
                            data={"options": json.dumps({"detect_version": 7})}, headers=KEY)
        assert reply.status_code == 409 and reply.json()["error"] == "version_not_pinned"


def test_admin_is_off_without_api_keys(gateway_factory: GatewayFactory, triton: TritonServer, repository: Path) -> None:
    open_gateway = gateway_factory(triton_url=triton.grpc_url, model_repository=repository)
    with open_gateway.client() as client:
        assert client.get("/v1/models").status_code == 200
        reply = client.post("/v1/models/detect/rollback")
        assert reply.status_code == 403 and reply.json()["error"] == "admin_disabled"
        reply = client.post("/v1/models/detect/load")
        assert reply.status_code == 403 and reply.json()["error"] == "admin_disabled"
