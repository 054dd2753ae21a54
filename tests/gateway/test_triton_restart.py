"""A Triton the launcher supervises, behind a running gateway (as `python -m gateway` runs them):
kill -9 of a stub is healed by the launcher alone while the gateway holds requests; kill -9 of
tritonserver makes readiness false at once, a job accepted meanwhile waits and retries, the
launcher starts Triton again on the same ports, the job succeeds and readiness comes back."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.conftest import GatewayFactory
from tests.photos import photo_bytes
from triton_launcher import ServerConfig, TritonServer
from triton_launcher.stubs import is_dead, stub_processes

pytestmark = pytest.mark.server

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"


@pytest.fixture(scope="module")
def own_triton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """A Triton of this module only (it gets killed); the launcher restarts it."""
    config = ServerConfig.from_env(model_repository=REPOSITORY, exit_timeout_s=3, restart_on_exit=True)
    with TritonServer(config, log_path=tmp_path_factory.mktemp("triton") / "tritonserver.log") as server:
        yield server


def test_killed_stub_is_reloaded_once_by_the_launcher_while_the_gateway_holds_requests(
    gateway_factory: GatewayFactory, own_triton: TritonServer
) -> None:
    gateway = gateway_factory(triton_url=own_triton.grpc_url, canary_interval_s=1, reload_crashed_models=False)
    photo = {"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}
    assert own_triton.pid is not None and own_triton.supervisor is not None
    with gateway.client() as client:
        assert client.post("/v1/process", files=photo).status_code == 200
        [stub] = [stub for stub in stub_processes(own_triton.pid) if stub.model == "decode"]
        os.kill(stub.pid, signal.SIGKILL)
        caught = client.post("/v1/process", files=photo)
        held = client.post("/v1/process", files=photo)
    assert caught.status_code == 502 and caught.json()["error"] == "model_crashed", caught.text
    assert held.status_code == 200, held.text
    assert own_triton.supervisor.reloaded == ["decode"]  # the gateway did not reload it a second time


def test_killed_triton_is_restarted_and_the_job_waiting_for_it_succeeds(
    gateway_factory: GatewayFactory, own_triton: TritonServer
) -> None:
    gateway = gateway_factory(triton_url=own_triton.grpc_url, canary_interval_s=1)
    old_pid = own_triton.pid
    assert old_pid is not None
    old_stubs = [stub.pid for stub in stub_processes(old_pid)]
    with gateway.client() as client:
        deadline = time.monotonic() + 60
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get("/readyz").status_code == 200

        os.kill(old_pid, signal.SIGKILL)
        time.sleep(0.5)
        down = client.get("/readyz")
        assert down.status_code == 503 and "triton" in down.json()["detail"], down.text
        job = client.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))})
        assert job.status_code == 202, job.text
        finished = client.get(job.json()["status_url"], params={"wait": 60}).json()
        assert finished["status"] == "succeeded", finished
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get("/readyz").status_code == 200
    assert own_triton.restarts == 1 and own_triton.pid not in (None, old_pid)
    assert all(is_dead(pid) for pid in old_stubs), "the dead server's stubs were left running"
