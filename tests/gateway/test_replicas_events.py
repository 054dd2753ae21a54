"""Events, queue depth and stats across gateway replicas, over real HTTP with no Triton (jobs stay
queued): two gateways on one NATS JetStream and one store, and the in-process engine alone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import __main__ as run_command
from gateway.core.config import Settings
from gateway.jobs.engine.server import NatsServer
from tests.gateway.conftest import GatewayFactory, RunningGateway, free_port
from tests.photos import photo_bytes


@pytest.fixture(params=["in-process", "jetstream"])
def pair(request: pytest.FixtureRequest, gateway_factory: GatewayFactory, tmp_path: Path) -> Iterator[tuple[RunningGateway, RunningGateway]]:
    """Two replicas on one store (JetStream), or one in-process gateway playing both parts."""
    storage = tmp_path / "storage"
    if request.param == "in-process":
        gateway = gateway_factory(storage)
        yield gateway, gateway
        return
    with NatsServer(tmp_path / "nats") as nats:
        settings = {"nats_url": nats.url, "stats_interval_s": 0.5}
        first = gateway_factory(storage, replica_name="a", **settings)
        second = gateway_factory(storage, replica_name="b", **settings)
        yield first, second
        first.stop()
        second.stop()


def read_stream(url: str, params: dict[str, Any], subscribed: threading.Event, until: str | None = None) -> list[dict[str, Any]]:
    """The events of one SSE stream until it ends (or, unfiltered, until an event of status ``until``)."""
    events = []
    with httpx.Client(timeout=httpx.Timeout(10, read=20)) as client, client.stream("GET", f"{url}/v1/events", params=params) as reply:
        assert reply.status_code == 200
        for line in reply.iter_lines():
            if line.startswith(": subscribed"):
                subscribed.set()
            elif line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if events[-1]["status"] == until:
                    break
    return events


def subscribe(pool: ThreadPoolExecutor, url: str, params: dict[str, Any], until: str | None = None) -> Future[list[dict[str, Any]]]:
    subscribed = threading.Event()
    future = pool.submit(read_stream, url, params, subscribed, until)
    assert subscribed.wait(10), "no ': subscribed'"
    return future


def test_events_of_a_job_on_one_replica_reach_another_and_a_filtered_stream_ends(
    pair: tuple[RunningGateway, RunningGateway],
) -> None:
    a, b = pair
    with ThreadPoolExecutor(2) as pool, a.client() as client_a, b.client() as client_b:
        everything = subscribe(pool, b.url, {}, until="deleted")
        reply = client_a.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}, data={"priority": "low"})
        assert reply.status_code == 202, reply.text
        job_id = reply.json()["job_id"]
        mine = subscribe(pool, b.url, {"job_id": job_id})
        stats = client_b.get("/v1/stats").json()
        metrics = client_b.get("/metrics").text  # refreshed by the stats call just made
        assert client_a.delete(f"/v1/jobs/{job_id}").status_code == 200
        filtered = mine.result(15)  # ends by itself once its only job has ended
        seen = everything.result(15)
    assert [event["status"] for event in filtered] == ["queued", "deleted"]
    assert [(event["job_id"], event["status"]) for event in seen] == [(job_id, "queued"), (job_id, "deleted")]
    assert stats["queue_depth"] == 1 and stats["queue_depth_by_priority"]["low"] == 1 and stats["jobs"]["queued"] == 1
    assert stats["replicas"]["answered"] == (2 if a is not b else 1)
    assert 'gateway_job_queue_depth{priority="low"} 1.0' in metrics


def test_a_stream_filtered_to_ended_jobs_ends_at_once(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(job_deadline_s=0.5)  # no Triton: the watchdog fails it as job_expired
    with gateway.client() as client:
        job_id = client.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}).json()["job_id"]
        assert client.get(f"/v1/jobs/{job_id}", params={"wait": 10}).json()["status"] == "failed"
        stream = client.get("/v1/events", params={"job_id": job_id}, timeout=10)  # returns: the stream ended
    assert stream.status_code == 200
    assert [json.loads(line[5:])["status"] for line in stream.text.splitlines() if line.startswith("data:")] == ["failed"]


def test_the_run_command_starts_and_stops_its_own_nats_server_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_command, "NATS_STORE", tmp_path / "nats")
    port = free_port()
    settings = run_command.load_settings(run_command.parse_args(["--start-nats", "--triton-url", "127.0.0.1:1"]))
    with run_command.nats(settings.model_copy(update={"nats_port": port})) as url:
        assert url == f"nats://127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            assert connection.recv(4).startswith(b"INFO")  # the NATS protocol greeting
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    with run_command.nats(Settings(nats_url="nats://elsewhere:4222", start_nats=True)) as url:
        assert url == "nats://elsewhere:4222"
    with run_command.nats(Settings()) as url:
        assert url == ""  # the in-process engine


def test_a_job_another_replica_runs_is_not_deleted(gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with NatsServer(tmp_path / "nats") as nats:
        a, b = (gateway_factory(storage, replica_name=name, nats_url=nats.url) for name in ("a", "b"))
        with a.client() as client_a, b.client() as client_b:
            job_id = client_a.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}).json()["job_id"]
            assert client_b.get(f"/v1/jobs/{job_id}").json()["status"] == "queued"
            record = storage / "jobs" / f"{job_id}.json"  # as a worker of a third replica leaves it while it runs
            record.write_text(json.dumps({**json.loads(record.read_text()), "status": "running"}))
            refused = client_b.delete(f"/v1/jobs/{job_id}")
        a.stop()
        b.stop()
    assert refused.status_code == 409 and refused.json()["error"] == "job_running"


def test_readiness_names_the_job_engine_when_nats_is_gone(gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    nats = NatsServer(tmp_path / "nats").start()
    try:
        gateway = gateway_factory(tmp_path / "storage", nats_url=nats.url, readiness_timeout_s=1.0)
        with gateway.client() as client:
            assert client.get("/readyz").json()["checks"]["queue"] == "ok"
            nats.stop()
            gone = client.get("/readyz")
            refused = client.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))})
        gateway.stop()
    finally:
        nats.stop()
    assert gone.status_code == 503 and "NATS JetStream" in gone.json()["checks"]["queue"]
    assert refused.status_code == 503 and refused.json()["error"] == "queue_unavailable", refused.text


def test_a_gateway_takes_jobs_again_once_nats_is_back(gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    """nats-server stopped and started again on the same port and store: the client reconnects;
    the job queued before the outage is still in the stream, and new jobs are accepted."""
    nats = NatsServer(tmp_path / "nats").start()
    try:
        gateway = gateway_factory(tmp_path / "storage", nats_url=nats.url, readiness_timeout_s=1.0, stats_interval_s=0.2)
        with gateway.client() as client:
            before = client.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))})
            nats.stop()
            assert client.get("/readyz").json()["checks"]["queue"] != "ok"
            nats = NatsServer(tmp_path / "nats", port=nats.port).start()
            deadline, queue = time.monotonic() + 20, ""
            while queue != "ok" and time.monotonic() < deadline:
                time.sleep(0.2)
                queue = client.get("/readyz").json()["checks"]["queue"]
            after = client.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))})
            stats = client.get("/v1/stats").json()
        gateway.stop()
    finally:
        nats.stop()
    assert queue == "ok", "the gateway reconnected"
    assert before.status_code == after.status_code == 202, after.text
    assert stats["queue_depth"] == 2, "the job queued before the outage kept its place"


def test_a_long_poll_on_one_replica_ends_when_another_ends_the_job(gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with NatsServer(tmp_path / "nats") as nats:
        a = gateway_factory(storage, replica_name="a", nats_url=nats.url, job_deadline_s=1.0)  # its watchdog fails the job
        b = gateway_factory(storage, replica_name="b", nats_url=nats.url)
        with a.client() as client_a, b.client() as client_b:
            job_id = client_a.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}).json()["job_id"]
            started = time.monotonic()
            waited = client_b.get(f"/v1/jobs/{job_id}", params={"wait": 30}).json()
            elapsed = time.monotonic() - started
        a.stop()
        b.stop()
    assert waited["status"] == "failed" and waited["error"]["error"] == "job_expired", waited
    assert elapsed < 10, f"b answered after {elapsed:.1f} s: it heard a's event, not its own timeout"


def test_the_nats_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom gateway.jobs.engine.server import NatsServer\n"
        "server = NatsServer(Path(sys.argv[1])).start()\nprint(server.process.pid, flush=True)\ntime.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "nats")], stdout=subprocess.PIPE, text=True)
    try:
        child = int((parent.stdout.readline() if parent.stdout else "").strip())
        os.kill(child, 0)  # running
        parent.kill()  # SIGKILL: no cleanup code runs
        parent.wait(10)
        deadline = time.monotonic() + 10
        while alive(child):
            assert time.monotonic() < deadline, "nats-server outlived the process that started it"
            time.sleep(0.1)
    finally:
        if parent.poll() is None:
            parent.kill()


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_replica_starting_on_nats_does_not_rescan_the_store(gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    """The stream is the queue: a job the store holds unfinished is not queued again by a starting replica
    (the in-process engine would resume it: see test_job_lifecycle)."""
    storage = tmp_path / "storage"
    with NatsServer(tmp_path / "nats") as nats:
        first = gateway_factory(storage, replica_name="a", nats_url=nats.url)
        with first.client() as client:
            job_id = client.post("/v1/jobs", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}).json()["job_id"]
        first.stop()
        record = storage / "jobs" / f"{job_id}.json"  # as another replica leaves it while it runs the job
        record.write_text(json.dumps({**json.loads(record.read_text()), "status": "running"}))
        second = gateway_factory(storage, replica_name="b", nats_url=nats.url)
        with second.client() as client:
            stats = client.get("/v1/stats").json()
            job = client.get(f"/v1/jobs/{job_id}").json()
        second.stop()
    assert stats["queue_depth"] == 1
    assert job["status"] == "running" and job["last_retry_reason"] is None, "a rescan would have queued it again"
