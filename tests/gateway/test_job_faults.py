"""Every accepted job ends, against the real Triton, through faults: an inference that outlasts its
deadline, a storage outage mid-run (moto's S3 server stopped, then restarted on the same port),
and ``kill -9`` of the gateway process mid-run followed by a restart. None ends twice with
different results."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import S3_CREDENTIALS, GatewayFactory, free_port, make_bucket
from tests.gateway.test_main import ROOT, lines_of, wait_for_url
from tests.photos import photo_bytes

pytestmark = pytest.mark.server

PHOTOS = ("zidane.jpg", "bus.jpg", "grace_hopper.jpg")


def submit(client: httpx.Client, count: int) -> dict[str, str]:
    """``count`` jobs over the photos in turn: job id -> photo name."""
    jobs = {}
    for index in range(count):
        name = PHOTOS[index % len(PHOTOS)]
        reply = client.post("/v1/jobs", files={"file": (name, photo_bytes(name))})
        assert reply.status_code == 202, reply.text
        jobs[reply.json()["job_id"]] = name
    return jobs


def records(client: httpx.Client, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The records that can be read now (a store outage answers 503 meanwhile)."""
    found = {}
    for job_id in job_ids:
        reply = client.get(f"/v1/jobs/{job_id}")
        if reply.status_code == 200:
            found[job_id] = reply.json()
    return found


def wait_all_finished(client: httpx.Client, job_ids: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = records(client, job_ids)
        if len(found) == len(job_ids) and all(job["status"] in ("succeeded", "failed") for job in found.values()):
            return found
        time.sleep(0.5)
    states = {job_id: job["status"] for job_id, job in records(client, job_ids).items()}
    raise AssertionError(f"not every job ended within {timeout_s} s: {states}")


def assert_all_succeeded(client: httpx.Client, jobs: dict[str, str], finished: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Every job succeeded, found faces, and found the same ones as every other job on its photo.

    Returns job id -> sha256 of its result.
    """
    digests, faces = {}, {}
    for job_id, job in finished.items():
        assert job["status"] == "succeeded", job
        assert job["metadata"]["faces"], "faces found"
        assert faces.setdefault(jobs[job_id], job["metadata"]["faces"]) == job["metadata"]["faces"]
        result = client.get(f"/v1/jobs/{job_id}/result")
        assert result.status_code == 200 and result.content
        digests[job_id] = hashlib.sha256(result.content).hexdigest()
    return digests


def test_inference_past_its_deadline_is_504_for_a_call_and_a_named_failure_for_a_job(
    gateway_factory: GatewayFactory, triton_server: Any
) -> None:
    gateway = gateway_factory(triton_url=triton_server.grpc_url, triton_timeout_s=0.05, job_max_timeouts=2,
                              retry_initial_s=0.1, retry_after_s=3)
    with gateway.client() as client:
        call = client.post("/v1/process", files={"file": ("z.jpg", photo_bytes("zidane.jpg"))})
        assert (call.status_code, call.json()["error"]) == (504, "inference_timeout"), call.text
        assert call.headers["Retry-After"] == "3"
        job_id = submit(client, 1).popitem()[0]
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
    assert job["status"] == "failed" and job["error"]["error"] == "inference_timeout", job
    assert (job["attempts"], job["timeouts"]) == (2, 2)
    assert "GATEWAY_TRITON_TIMEOUT_S" in job["error"]["detail"]


@pytest.fixture
def own_s3() -> Iterator[tuple[int, Any]]:
    """A moto S3 server of this test's own, which the test stops and starts again on the same port."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in S3_CREDENTIALS.items():
            patch.setenv(name, value)
        port = free_port()
        servers = [ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)]
        servers[0].start()
        try:
            yield port, servers
        finally:
            servers[-1].stop()


def test_storage_outage_mid_run_every_job_ends_without_a_restart(
    gateway_factory: GatewayFactory, triton_server: Any, own_s3: tuple[int, Any]
) -> None:
    from moto.server import ThreadedMotoServer

    port, servers = own_s3
    endpoint = f"http://127.0.0.1:{port}"
    make_bucket(endpoint, "outage")
    gateway = gateway_factory(
        "s3://outage/store", triton_url=triton_server.grpc_url, s3_endpoint_url=endpoint, s3_connect_timeout_s=1,
        s3_read_timeout_s=2, s3_max_attempts=2, retry_initial_s=0.2, retry_max_s=2.0,
    )
    with gateway.client(timeout=30) as client:
        jobs = submit(client, 20)
        deadline = time.monotonic() + 60
        while not any(job["status"] == "succeeded" for job in records(client, list(jobs)).values()):
            assert time.monotonic() < deadline, "no job succeeded before the outage"
            time.sleep(0.2)
        servers[0].stop()  # the outage: connection refused for every store call
        time.sleep(10)
        assert client.get(f"/v1/jobs/{'0' * 32}").json()["error"] == "storage_error"
        servers.append(ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False))
        servers[-1].start()
        finished = wait_all_finished(client, list(jobs), timeout_s=120)
        assert_all_succeeded(client, jobs, finished)
    retried = [job for job in finished.values() if "storage" in (job["last_retry_reason"] or "").lower()
               or "s3://" in (job["last_retry_reason"] or "")]
    assert retried, "some job met the outage and was retried, not failed"


def start_gateway_process(storage: Path, triton_url: str) -> tuple[subprocess.Popen[str], str]:
    environment = {**os.environ, "GATEWAY_PORT": str(free_port()), "GATEWAY_STORAGE_URL": str(storage),
                   "GATEWAY_LOG_LEVEL": "WARNING", "GATEWAY_WORKERS": "2"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--triton-url", triton_url], cwd=ROOT, env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    return process, wait_for_url(lines_of(process), timeout_s=60)


def test_kill_9_of_the_gateway_mid_run_then_restart_every_job_ends_once(triton_server: Any, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    first, url = start_gateway_process(storage, triton_server.grpc_url)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            jobs = submit(client, 12)
            deadline = time.monotonic() + 90
            while True:
                seen = records(client, list(jobs))
                done = {job_id: job for job_id, job in seen.items() if job["status"] == "succeeded"}
                if len(done) >= 2:
                    break
                assert time.monotonic() < deadline, "no jobs succeeded in the first process"
                time.sleep(0.1)
            before = {job_id: hashlib.sha256(client.get(f"/v1/jobs/{job_id}/result").content).hexdigest() for job_id in done}
        first.kill()  # SIGKILL: no shutdown code runs
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(done) < len(jobs), "the kill came mid-run"

    second, url = start_gateway_process(storage, triton_server.grpc_url)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            finished = wait_all_finished(client, list(jobs), timeout_s=180)
            digests = assert_all_succeeded(client, jobs, finished)
    finally:
        second.terminate()
        second.wait(timeout=30)
    for job_id, job in done.items():
        assert finished[job_id]["finished_at"] == job["finished_at"], "a finished job is not run again"
        assert digests[job_id] == before[job_id]
    assert any(job["last_retry_reason"] == "gateway restarted" for job in finished.values()), "a running job resumed"
    assert not list((storage / "pending").iterdir())
