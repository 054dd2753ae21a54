"""kill -9 of a Python stub behind a running gateway: the requests in flight fail with a named
error, /readyz says not ready, the gateway has the model reloaded (no operator, no launcher
supervisor), held requests and jobs then succeed, and readiness comes back."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.photos import photo_bytes
from triton_launcher import ServerConfig, TritonServer
from triton_launcher.stubs import stub_processes

pytestmark = pytest.mark.server

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
RECOVERY_S = 20


@pytest.fixture(scope="module")
def own_triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """A Triton of this module only (its stubs get killed); the launcher's supervisor is off so
    that the gateway alone must bring the model back."""
    config = ServerConfig.from_env(model_repository=REPOSITORY, supervise_stubs=False, exit_timeout_s=3)
    with TritonServer(config, log_path=tmp_path_factory.mktemp("triton") / "tritonserver.log") as server:
        yield server


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, own_triton: TritonServer) -> RunningGateway:
    gateway = gateway_factory(triton_url=own_triton.grpc_url, canary_interval_s=1, workers=2)
    assert wait_ready(gateway, 60), "the gateway never became ready"
    return gateway


def wait_ready(gateway: RunningGateway, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    with gateway.client() as client:
        while time.monotonic() < deadline:
            if client.get("/readyz").status_code == 200:
                return True
            time.sleep(0.2)
    return False


def kill_stub(server: TritonServer, model: str) -> int:
    assert server.pid is not None
    [stub] = [stub for stub in stub_processes(server.pid) if stub.model == model]
    os.kill(stub.pid, signal.SIGKILL)
    return stub.pid


@contextmanager
def readiness_watch(gateway: RunningGateway, period_s: float = 0.05) -> Iterator[list[tuple[int, dict]]]:
    """/readyz probed every ``period_s`` while the block runs: [(status code, JSON body), ...]."""
    seen: list[tuple[int, dict]] = []
    stop = threading.Event()

    def probe() -> None:
        with gateway.client() as client:
            while not stop.is_set():
                reply = client.get("/readyz")
                seen.append((reply.status_code, reply.json()))
                stop.wait(period_s)

    watcher = threading.Thread(target=probe, daemon=True)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join(timeout=30)


def post(gateway: RunningGateway, route: str = "/v1/process") -> httpx.Response:
    with gateway.client() as client:
        return client.post(route, files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))})


def test_killed_decode_stub_fails_only_the_requests_in_flight(gateway: RunningGateway, own_triton: TritonServer) -> None:
    assert post(gateway).status_code == 200
    with readiness_watch(gateway) as seen:
        kill_stub(own_triton, "decode")
        with ThreadPoolExecutor(3) as pool:  # in flight together when the crash is found
            caught = [reply.result() for reply in [pool.submit(post, gateway) for _ in range(3)]]
        started = time.monotonic()
        later = post(gateway)  # held until decode is back, then served
    assert {reply.status_code for reply in caught} == {502}, [reply.text for reply in caught]
    errors = [reply.json() for reply in caught]
    assert {error["error"] for error in errors} == {"model_crashed"}
    assert all("decode_0_0" in error["detail"] for error in errors)
    # Not ready from the crash until decode is back (a loaded machine may reload it before a
    # single probe after the 502s could look, so every probe of the whole episode is kept).
    assert any(code == 503 and "reloading" in body.get("models", {}).get("pipeline", "") for code, body in seen), seen

    job = post(gateway, "/v1/jobs").json()
    assert later.status_code == 200, later.text
    assert time.monotonic() - started < RECOVERY_S
    with gateway.client() as client:
        finished = client.get(job["status_url"], params={"wait": RECOVERY_S}).json()
    assert finished["status"] == "succeeded", finished
    assert wait_ready(gateway, RECOVERY_S)


def test_killed_transcode_stub_is_healed_by_the_canary(gateway: RunningGateway, own_triton: TritonServer) -> None:
    """No request needed: the next canary meets the dead stub, readiness drops, the model comes back."""
    kill_stub(own_triton, "transcode")
    deadline, seen_not_ready = time.monotonic() + RECOVERY_S, False
    with gateway.client() as client:
        while time.monotonic() < deadline:
            ready = client.get("/readyz")
            seen_not_ready |= ready.status_code == 503 and "transcode" in ready.json()["detail"]
            if seen_not_ready and ready.status_code == 200:
                break
            time.sleep(0.1)
        reply = client.post("/v1/process", files={"file": ("z.jpg", photo_bytes("zidane.jpg"))}, data={"operation": "encode"})
    assert seen_not_ready, "readiness never said transcode was down"
    assert ready.status_code == 200, ready.text
    assert reply.status_code == 200, reply.text
    assert [stub.model for stub in stub_processes(own_triton.pid or 0)].count("transcode") == 1


def test_killed_detect_stub_behind_process_bls_is_named_and_healed(gateway: RunningGateway, own_triton: TritonServer) -> None:
    """`process` calls detect through BLS: the dead stub is found in its error text all the same."""
    operations = {"operations": '[{"op": "anonymize"}]'}
    photo = {"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}
    assert wait_ready(gateway, RECOVERY_S)
    kill_stub(own_triton, "detect")
    started = time.monotonic()
    with gateway.client() as client:
        caught = client.post("/v1/process", files=photo, data=operations)
        later = client.post("/v1/process", files=photo, data=operations)
    assert caught.status_code == 502 and caught.json()["error"] == "model_crashed", caught.text
    assert "detect_0_0" in caught.json()["detail"]
    assert later.status_code == 200, later.text
    assert time.monotonic() - started < RECOVERY_S
    assert wait_ready(gateway, RECOVERY_S)


def test_a_job_in_a_crashed_batch_is_retried_and_succeeds(gateway: RunningGateway, own_triton: TritonServer) -> None:
    """The first request to meet the dead stub is a job's: it is not failed for the crash (its photo
    is innocent until it crashes GATEWAY_JOB_MAX_CRASHES times); it runs again once decode is back."""
    assert wait_ready(gateway, RECOVERY_S)
    kill_stub(own_triton, "decode")
    job = post(gateway, "/v1/jobs").json()
    with gateway.client() as client:
        finished = client.get(job["status_url"], params={"wait": 3 * RECOVERY_S}).json()
    assert finished["status"] == "succeeded", finished
    assert finished["crashes"] == 1 and finished["attempts"] == 2, finished
    assert "decode" in finished["last_retry_reason"], finished
