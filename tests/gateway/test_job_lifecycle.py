"""Jobs end, intake is bounded, and nothing is kept longer than configured; over real HTTP with a
Triton address nothing listens on (so jobs stay queued until their deadline)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import GatewayFactory
from tests.photos import photo_bytes


def files_of(storage: Path) -> list[str]:
    return sorted(path.relative_to(storage).as_posix() for path in storage.rglob("*") if path.is_file())


def upload(client: httpx.Client, name: str = "zidane.jpg", route: str = "/v1/jobs") -> httpx.Response:
    return client.post(route, files={"file": (name, photo_bytes(name))})


def wait_for(client: httpx.Client, job_id: str, status: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job.get("status") == status:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not {status} after {timeout_s} s: {job}")


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    return tmp_path / "storage"


def test_intake_limit_refuses_with_429_and_stores_nothing(
    gateway_factory: GatewayFactory, storage: Path, tmp_path: Path
) -> None:
    root = tmp_path / "inputs"
    root.mkdir()
    (root / "bus.jpg").write_bytes(photo_bytes("bus.jpg"))
    gateway = gateway_factory(storage, max_queued_jobs=3, retry_after_s=7, allowed_roots=[root])
    with gateway.client() as client:
        accepted = [upload(client) for _ in range(3)]
        assert [reply.status_code for reply in accepted] == [202] * 3
        stored = files_of(storage)
        refused = [
            upload(client),
            client.post("/v1/jobs/batch", files=[("files", ("a.jpg", photo_bytes("zidane.jpg")))] * 2),
            client.post("/v1/jobs", json={"input_image": str(root / "bus.jpg")}),
        ]
        for reply in refused:
            assert (reply.status_code, reply.json()["error"]) == (429, "queue_full"), reply.text
            assert reply.headers["Retry-After"] == "7" and "GATEWAY_MAX_QUEUED_JOBS" in reply.json()["detail"]
        assert files_of(storage) == stored, "nothing stored for refused jobs"
        assert client.delete(f"/v1/jobs/{accepted[0].json()['job_id']}").status_code == 200
        assert upload(client).status_code == 202, "a deleted job frees its place"


def test_delete_a_queued_job_removes_everything(gateway_factory: GatewayFactory, storage: Path) -> None:
    gateway = gateway_factory(storage)
    with gateway.client() as client:
        kept = upload(client, "bus.jpg").json()["job_id"]
        job_id = upload(client).json()["job_id"]
        reply = client.delete(f"/v1/jobs/{job_id}")
        assert reply.status_code == 200, reply.text
        deleted = set(reply.json()["deleted"])
        index = {key for key in deleted if key.startswith("index/") and key.endswith(f"-{job_id}")}  # its listing marker
        assert len(index) == 1
        assert deleted - index == {f"pending/{job_id}", f"originals/{job_id}.jpg", f"jobs/{job_id}.json"}
        assert [name for name in files_of(storage) if job_id in name] == []
        assert client.get(f"/v1/jobs/{job_id}").json()["error"] == "job_not_found"
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 404
        assert client.get(f"/v1/jobs/{kept}").json()["status"] == "queued"


def test_deadline_fails_jobs_while_triton_is_away_then_retention_deletes_them(
    gateway_factory: GatewayFactory, storage: Path
) -> None:
    """GATEWAY_JOB_DEADLINE_S ends a job nobody can run; originals are not kept, the job goes after 2 s."""
    gateway = gateway_factory(storage, job_deadline_s=1.0, keep_originals_s=0, keep_jobs_s=2.0, retention_sweep_s=0.2)
    with gateway.client() as client:
        job_ids = [upload(client, name).json()["job_id"] for name in ("zidane.jpg", "bus.jpg")]
        started = time.monotonic()
        failed = [wait_for(client, job_id, "failed", timeout_s=10) for job_id in job_ids]
        assert time.monotonic() - started < 20, "bounded by the 1 s deadline and the 1 s watchdog, not by an outage"
        for job in failed:
            assert job["error"]["error"] == "job_expired" and "GATEWAY_JOB_DEADLINE_S" in job["error"]["detail"]
            assert job["original"] is None and job["expires_at"] is not None
        assert not [name for name in files_of(storage) if name.startswith("originals/")]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and files_of(storage):
            time.sleep(0.2)
        assert files_of(storage) == [], "record, markers and all"
        assert [client.get(f"/v1/jobs/{job_id}").status_code for job_id in job_ids] == [404, 404]


def test_kept_originals_have_a_due_date(gateway_factory: GatewayFactory, storage: Path) -> None:
    gateway = gateway_factory(storage, job_deadline_s=0.5, keep_originals_s=3600)
    with gateway.client() as client:
        job = wait_for(client, upload(client).json()["job_id"], "failed", timeout_s=10)
    assert job["original"] is not None and job["original_expires_at"] is not None and job["expires_at"] is None
    markers = [name for name in files_of(storage) if name.startswith("retention/")]
    assert len(markers) == 1 and markers[0].startswith("retention/originals/") and markers[0].endswith(job["job_id"])


def test_a_damaged_job_record_does_not_stop_the_next_start(gateway_factory: GatewayFactory, storage: Path) -> None:
    first = gateway_factory(storage)
    with first.client() as client:
        damaged, kept = (upload(client).json()["job_id"] for _ in range(2))
    first.stop()
    (storage / "jobs" / f"{damaged}.json").write_text('{"job_id": "not a record"')
    second = gateway_factory(storage)
    with second.client() as client:
        job = client.get(f"/v1/jobs/{damaged}").json()
        assert job["status"] == "failed" and job["error"]["error"] == "corrupt_record", job
        assert client.get(f"/v1/jobs/{kept}").json()["status"] == "queued"
    assert sorted(path.name for path in (storage / "pending").iterdir()) == [kept]


def test_a_record_damaged_while_queued_ends_the_job_as_failed(gateway_factory: GatewayFactory, storage: Path) -> None:
    gateway = gateway_factory(storage, job_deadline_s=1.0)
    with gateway.client() as client:
        job_id = upload(client).json()["job_id"]
        (storage / "jobs" / f"{job_id}.json").write_text("[]")
        gateway.server.config.app.state.services.jobs.repository._cache.clear()  # as if evicted (the cache is bounded)
        job = wait_for(client, job_id, "failed", timeout_s=10)
    assert job["error"]["error"] == "corrupt_record" and job_id in job["error"]["detail"]
    assert not (storage / "pending" / job_id).exists()


def queued_gauge(client: httpx.Client) -> float:
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith('gateway_jobs{state="queued"}')]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_deleting_a_queued_job_tells_its_subscribers_and_the_gauge(gateway_factory: GatewayFactory, storage: Path) -> None:
    """A live-events subscriber of a deleted job learns it (it waited forever before); the queued
    gauge goes down with it."""
    gateway = gateway_factory(storage)
    with gateway.client() as client:
        job_id = upload(client).json()["job_id"]
        before = queued_gauge(client)
        events: list[str] = []
        with client.stream("GET", "/v1/events", params={"job_id": job_id}, timeout=20) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(line)
                    if len(events) == 1:  # the current state, sent on subscribing: now delete it
                        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
                    else:
                        break
        assert '"queued"' in events[0] and '"deleted"' in events[1], events
        assert queued_gauge(client) == before - 1
