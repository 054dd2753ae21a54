"""Three `python -m gateway` replicas on one NATS JetStream, one store folder and one real Triton:
200 jobs submitted round-robin, one replica killed with SIGKILL mid-run. Every accepted job
succeeds exactly once, an SSE client on another replica sees the events of every job, and a
later backlog shows high-priority jobs passing the low-priority ones waiting in the shared queue."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from gateway.jobs.engine.server import NatsServer
from tests.gateway.conftest import free_port
from tests.gateway.test_main import ROOT, lines_of, wait_for_url
from tests.photos import photo_pixels
from tests.priority import overtaken

pytestmark = pytest.mark.server

JOBS = 200
ACK_WAIT_S = 3.0
LOW_BACKLOG, MIN_WAITING = 60, 10
WORKERS = 4  # 2 replicas x GATEWAY_WORKERS=2: low-priority jobs that may still finish after a high one started


def small_photos() -> dict[str, bytes]:
    """Real faces, small enough that 200 jobs pass in well under a minute on 2 CPU cores."""
    photos = {}
    for name, size in (("astronaut.png", (256, 256)), ("grace_hopper.jpg", (240, 300))):
        buffer = io.BytesIO()
        Image.fromarray(photo_pixels(name)).resize(size).save(buffer, format="JPEG", quality=90)
        photos[name] = buffer.getvalue()
    return photos


class Replica:
    """One `python -m gateway` process pointed at the shared Triton, store and NATS."""

    def __init__(self, name: str, storage: Path, triton_url: str, nats_url: str) -> None:
        environment = {
            **os.environ, "GATEWAY_PORT": str(free_port()), "GATEWAY_STORAGE_URL": str(storage), "GATEWAY_NATS_URL": nats_url,
            "GATEWAY_REPLICA_NAME": name, "GATEWAY_NATS_ACK_WAIT_S": str(ACK_WAIT_S), "GATEWAY_STATS_INTERVAL_S": "1",
            "GATEWAY_WORKERS": str(WORKERS // 2), "GATEWAY_LOG_LEVEL": "WARNING",
        }
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--triton-url", triton_url], cwd=ROOT, env=environment, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.lines = lines_of(self.process)
        self.url = ""

    def wait_ready(self) -> Replica:
        self.url = wait_for_url(self.lines, timeout_s=90)
        return self

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def replicas(triton_server: Any, tmp_path: Path) -> Iterator[tuple[list[Replica], Path]]:
    storage = tmp_path / "storage"
    with NatsServer(tmp_path / "nats") as nats:
        started = [Replica(name, storage, triton_server.grpc_url, nats.url) for name in ("a", "b", "c")]
        try:
            yield [replica.wait_ready() for replica in started], storage
        finally:
            for replica in started:
                replica.stop()


class EventLog:
    """An SSE client reading every event of one replica in a thread, until told to stop."""

    def __init__(self, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.error: httpx.HTTPError | None = None
        self.subscribed = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()
        assert self.subscribed.wait(15), "no ': subscribed' from the SSE stream"

    def _read(self, url: str) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=30)) as client, client.stream("GET", f"{url}/v1/events") as reply:
                for line in reply.iter_lines():
                    if line.startswith(": subscribed"):
                        self.subscribed.set()
                    elif line.startswith("data:"):
                        self.events.append(json.loads(line[5:]))
                    if self.stop.is_set():
                        return
        except httpx.HTTPError as error:  # the test asserts there was none before it stopped reading
            self.error = error

    def statuses(self, status: str) -> Counter[str]:
        return Counter(event["job_id"] for event in list(self.events) if event["status"] == status)


def submit_round_robin(replicas: list[Replica], photos: dict[str, bytes], count: int, priority: str = "normal") -> dict[str, tuple[str, str]]:
    """``count`` jobs, replica after replica: job id -> (replica name, photo name)."""
    names = sorted(photos)

    def one(index: int) -> tuple[str, tuple[str, str]]:
        replica, name = replicas[index % len(replicas)], names[index % len(names)]
        with httpx.Client(base_url=replica.url, timeout=60) as client:
            reply = client.post("/v1/jobs", files={"file": (name, photos[name])}, data={"priority": priority})
        assert reply.status_code == 202, reply.text
        return reply.json()["job_id"], (replica.name, name)

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, range(count)))


def read_records(url: str, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return {job_id: client.get(f"/v1/jobs/{job_id}").json() for job_id in job_ids}


def wait_finished(url: str, job_ids: list[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = read_records(url, job_ids)
        if all(job["status"] in ("succeeded", "failed") for job in found.values()):
            return found
        assert time.monotonic() < deadline, Counter(job["status"] for job in found.values())
        time.sleep(1)


def test_three_replicas_share_the_work_and_survive_kill_9_of_one(replicas: tuple[list[Replica], Path]) -> None:
    (a, b, c), storage = replicas
    photos = small_photos()
    log = EventLog(b.url)
    jobs = submit_round_robin([a, b, c], photos, JOBS)
    deadline = time.monotonic() + 120
    while len(log.statuses("succeeded")) < JOBS // 4:
        assert time.monotonic() < deadline, "a quarter of the jobs did not succeed in 120 s"
        time.sleep(0.2)
    c.process.kill()  # SIGKILL mid-run: its deliveries go to a and b after the ack deadline
    c.process.wait(30)
    finished = wait_finished(a.url, list(jobs), timeout_s=300)
    time.sleep(1)  # the last events on their way to b
    log.stop.set()
    assert log.error is None, f"the SSE stream on b broke: {log.error!r}"

    assert Counter(job["status"] for job in finished.values()) == {"succeeded": JOBS}
    faces: dict[str, Any] = {}
    for job_id, job in finished.items():
        assert faces.setdefault(jobs[job_id][1], job["metadata"]["faces"]) == job["metadata"]["faces"]
        stored = list((storage / "results").glob(f"{job_id}.*"))
        assert len(stored) == 1 and stored[0].stat().st_size == job["result"]["bytes"], "one result, the one recorded"
    assert log.statuses("succeeded") == Counter(dict.fromkeys(jobs, 1)), "each job succeeded exactly once"
    accepted_elsewhere = {job_id for job_id, (replica, _) in jobs.items() if replica != "b"}
    assert accepted_elsewhere <= set(log.statuses("queued")), "b's subscriber saw the jobs accepted on a and c"
    assert any(job["attempts"] >= 2 for job in finished.values()), "a job c was running was delivered again"
    assert not list((storage / "pending").iterdir())

    with httpx.Client(base_url=a.url, timeout=30) as client:
        time.sleep(3.5)  # c's figures expire (3 stats intervals)
        stats = client.get("/v1/stats").json()
        metrics = client.get("/metrics").text
        filtered = client.get("/v1/events", params={"job_id": list(jobs)[:3]}, timeout=10)  # ended jobs: the stream ends
    assert stats["engine"] == "jetstream" and stats["replicas"] == {"answered": 2, "names": ["a", "b"]}
    assert stats["queue_depth"] == 0 and stats["jobs"]["queued"] == 0 and stats["jobs"]["running"] == 0
    assert stats["gateway"]["processed"]["succeeded"] >= JOBS * 2 // 3 - 1
    assert 'gateway_job_queue_depth{priority="low"} 0.0' in metrics
    assert filtered.text.count("event: job") == 3

    # Priorities through the shared queue: high-priority jobs pass the low ones still waiting.
    backlog = submit_round_robin([a, b], photos, LOW_BACKLOG, priority="low")
    urgent = submit_round_robin([a, b], photos, 3, priority="high")
    done = wait_finished(a.url, [*backlog, *urgent], timeout_s=300)
    last_urgent_queued = max(done[job_id]["created_at"] for job_id in urgent)
    waiting = [job_id for job_id in backlog if done[job_id]["started_at"] > last_urgent_queued]
    count = overtaken([done[job_id]["finished_at"] for job_id in waiting], [done[job_id]["finished_at"] for job_id in urgent])
    assert len(waiting) >= MIN_WAITING, f"only {len(waiting)} low-priority jobs were still waiting: no backlog to pass"
    assert count >= len(waiting) - WORKERS, f"the high-priority jobs passed {count} of {len(waiting)} waiting low-priority ones"
