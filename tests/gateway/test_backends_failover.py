"""Two real tritonservers on loopback (one copy of the model repository, different ports) behind
one gateway: a model swap through the admin route reaches both; a stub crash on one leaves the other
serving; calls spread over both; kill -9 of
one under load of jobs and sync calls fails no job and no sync call (the calls caught on it are
retried on the other); /readyz reports it not ready while the gateway stays ready on the other,
and ready again once its launcher has restarted it."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import tritonclient.grpc as grpcclient
from PIL import Image

from export.publish import publish_version
from export.smoke import validate_detect
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.photos import photo_pixels
from tests.triton.repositories import copy_repository, copy_version, ensemble_models
from triton_launcher import ServerConfig, TritonServer
from triton_launcher.stubs import stub_processes

pytestmark = pytest.mark.server

JOBS = 16
SYNC_CLIENTS = 3
BACK_WITHIN_S = 150


KEY = {"X-API-Key": "admin-key"}


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of every model the gateway calls (a swap writes into it), shared by both Tritons."""
    return copy_repository(tmp_path_factory.mktemp("backends") / "model_repository", [*ensemble_models(), "transcode", "process"])


def own_triton(repository: Path, logs: Path) -> TritonServer:
    config = ServerConfig.from_env(model_repository=repository, exit_timeout_s=3, restart_on_exit=True)
    return TritonServer(config, log_path=logs / "tritonserver.log")


@pytest.fixture(scope="module")
def doomed_triton(repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """The Triton that gets killed; its launcher restarts it on the same ports."""
    with own_triton(repository, tmp_path_factory.mktemp("doomed")) as server:
        yield server


@pytest.fixture(scope="module")
def survivor_triton(repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    with own_triton(repository, tmp_path_factory.mktemp("survivor")) as server:
        yield server


@pytest.fixture(scope="module")
def gateway(
    gateway_factory: GatewayFactory, repository: Path, doomed_triton: TritonServer, survivor_triton: TritonServer
) -> RunningGateway:
    return gateway_factory(
        triton_urls=[doomed_triton.grpc_url, survivor_triton.grpc_url], model_repository=repository, api_keys=["admin-key"],
        workers=4, max_in_flight=8, backend_probe_max_s=1.0,
        reload_crashed_models=False,  # their launchers reload a crashed stub; the gateway holds that backend meanwhile
        canary_interval_s=600,  # canaries at start, while one fails and when a backend is put back: calls counted are ours
    )


def small_photo() -> bytes:
    """zidane.jpg at 320x180 as JPEG: real faces, little CPU."""
    buffer = io.BytesIO()
    Image.fromarray(photo_pixels("zidane.jpg")).resize((320, 180)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def backend_sample(client: httpx.Client, name: str, labels: dict[str, str]) -> float:
    wanted = name + "{" + ",".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def readiness(client: httpx.Client) -> tuple[int, dict[str, Any]]:
    reply = client.get("/readyz")
    return reply.status_code, reply.json()


def backend_ready(body: dict[str, Any], url: str) -> bool:
    return any(backend["url"] == url and backend["ready"] for backend in body.get("backends", []))


def wait_until(check: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        time.sleep(0.2)


def sync_load(gateway: RunningGateway, photo: bytes, stop: threading.Event) -> list[tuple[int, str]]:
    """POST /v1/process until ``stop``: every (status, body start) seen."""
    seen = []
    with gateway.client(headers=KEY) as client:
        while not stop.is_set():
            reply = client.post("/v1/process", files={"file": ("small.jpg", photo)})
            seen.append((reply.status_code, reply.text[:300] if reply.status_code != 200 else ""))
    return seen


def served_detect(url: str) -> list[str]:
    """The ready versions of detect on the Triton at ``url``."""
    with grpcclient.InferenceServerClient(url) as client:
        index = client.get_model_repository_index(as_json=True)["models"]
    return sorted(entry["version"] for entry in index if entry["name"] == "detect" and entry.get("state") == "READY")


def test_a_swap_reaches_every_backend(
    gateway: RunningGateway, repository: Path, doomed_triton: TritonServer, survivor_triton: TritonServer
) -> None:
    publish_version(repository / "detect", copy_version(repository, "detect", 1), validate_detect)
    urls = [doomed_triton.grpc_url, survivor_triton.grpc_url]
    with gateway.client(headers=KEY) as client:
        wait_until(lambda: readiness(client)[1].get("backends_ready") == "2/2", 120, "both backends ready")
        reply = client.post("/v1/models/detect/swap", json={"version": 2})
        assert reply.status_code == 200, reply.text
        assert reply.json()["backends"] == {url: "ok" for url in urls}, reply.json()
        assert all(served_detect(url) == ["2"] for url in urls)
        served = [client.post("/v1/process", files={"file": ("small.jpg", small_photo())}) for _ in range(4)]
    assert {json.loads(reply.headers["X-Metadata"])["versions"]["detect"] for reply in served} == {"2"}


def test_a_stub_crash_on_one_backend_leaves_the_other_serving(gateway: RunningGateway, survivor_triton: TritonServer) -> None:
    """kill -9 of decode's stub on one backend: at most the one call caught in it fails (502, not
    retried: the photo may be the cause); the next calls go to the other backend while it heals."""
    assert survivor_triton.pid is not None
    with gateway.client(headers=KEY) as client:
        wait_until(lambda: readiness(client)[1].get("backends_ready") == "2/2", 60, "both backends ready")
        [stub] = [stub for stub in stub_processes(survivor_triton.pid) if stub.model == "decode"]
        os.kill(stub.pid, signal.SIGKILL)
        replies, ready = [], []
        for _ in range(8):
            replies.append(client.post("/v1/process", files={"file": ("small.jpg", small_photo())}))
            ready.append(readiness(client)[0])
        wait_until(lambda: readiness(client)[1].get("backends_ready") == "2/2", 60, "the crashed backend healed")
    caught = [reply.json() for reply in replies if reply.status_code != 200]
    assert len(caught) <= 1 and all(error["error"] == "model_crashed" for error in caught), caught
    assert ready == [200] * 8


def test_kill_one_triton_under_load_fails_nothing_and_it_comes_back(
    gateway: RunningGateway, doomed_triton: TritonServer, survivor_triton: TritonServer
) -> None:
    doomed, survivor = doomed_triton.grpc_url, survivor_triton.grpc_url
    photo = small_photo()
    with gateway.client(headers=KEY) as client:
        wait_until(lambda: readiness(client)[1].get("backends_ready") == "2/2", 120, "both backends ready")

        start = {url: backend_sample(client, "gateway_triton_backend_calls_total", {"backend": url}) for url in (doomed, survivor)}
        stop = threading.Event()
        with ThreadPoolExecutor(SYNC_CLIENTS) as pool:
            callers = [pool.submit(sync_load, gateway, photo, stop) for _ in range(SYNC_CLIENTS)]
            jobs = [client.post("/v1/jobs", files={"file": (f"{n}.jpg", photo)}).json() for n in range(JOBS)]
            wait_until(
                lambda: all(backend_sample(client, "gateway_triton_backend_calls_total", {"backend": url}) >= start[url] + 3
                            for url in (doomed, survivor)),
                60, "calls spread over both backends",
            )
            old_pid = doomed_triton.pid
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)
            killed_at = time.monotonic()
            seen_partial = []
            while time.monotonic() - killed_at < 4:  # the load goes on; /readyz watched meanwhile
                code, body = readiness(client)
                seen_partial.append(code == 200 and not backend_ready(body, doomed) and backend_ready(body, survivor))
                time.sleep(0.2)
            stop.set()
            sync = [status for caller in callers for status in caller.result()]
        finished = [client.get(job["status_url"], params={"wait": 120}).json() for job in jobs]
        failures = backend_sample(client, "gateway_triton_backend_failures_total", {"backend": doomed, "error": "triton_unavailable"})

        assert [job["status"] for job in finished] == ["succeeded"] * JOBS, [job.get("error") for job in finished]
        assert len(sync) >= SYNC_CLIENTS and all(code == 200 for code, _ in sync), [s for s in sync if s[0] != 200]
        assert failures >= 1, "no call was caught on the killed backend: nothing was failed over"
        assert any(seen_partial), "/readyz never said: ready, the killed backend out, the other serving"

        wait_until(lambda: backend_ready(readiness(client)[1], doomed), BACK_WITHIN_S, "the restarted backend ready again")
        wait_until(lambda: doomed_triton.restarts == 1, 30, "the launcher counting its restart")  # counted after its own wait
        assert doomed_triton.pid != old_pid
        calls_before = backend_sample(client, "gateway_triton_backend_calls_total", {"backend": doomed})
        after = [client.post("/v1/process", files={"file": ("small.jpg", photo)}).status_code for _ in range(4)]
        assert after == [200] * 4
        assert backend_sample(client, "gateway_triton_backend_calls_total", {"backend": doomed}) > calls_before
        assert backend_sample(client, "gateway_triton_backend_up", {"backend": doomed}) == 1
