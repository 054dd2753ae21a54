"""Backpressure and restarts, against the real Triton: 429 under a flood while jobs wait their
turn, and jobs left queued (or running) by a stopped gateway completed by the next one."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import GatewayFactory
from tests.photos import photo_bytes

pytestmark = pytest.mark.server


def test_flood_gets_429_with_retry_after_while_jobs_wait(gateway_factory: GatewayFactory, triton_server: Any) -> None:
    gateway = gateway_factory(triton_url=triton_server.grpc_url, max_in_flight=3, workers=1, retry_after_s=2)
    payload = photo_bytes("zidane.jpg")

    async def flood() -> tuple[list[httpx.Response], list[dict[str, Any]]]:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as client:
            jobs = [await client.post("/v1/jobs", files={"file": ("z.jpg", payload)}) for _ in range(3)]
            calls = [client.post("/v1/process", files={"file": ("z.jpg", payload)}) for _ in range(8)]
            replies = await asyncio.gather(*calls)
            finished = [(await client.get(job.json()["status_url"], params={"wait": 60})).json() for job in jobs]
        return replies, finished

    replies, finished = asyncio.run(flood())
    statuses = Counter(reply.status_code for reply in replies)
    assert set(statuses) <= {200, 429} and statuses[429] >= 1 and statuses[200] >= 1, statuses
    refused = next(reply for reply in replies if reply.status_code == 429)
    assert refused.json()["error"] == "busy" and refused.headers["Retry-After"] == "2"
    assert [job["status"] for job in finished] == ["succeeded"] * 3, "jobs waited for a slot instead"


def test_restart_resumes_queued_and_running_jobs(
    gateway_factory: GatewayFactory, triton_server: Any, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    stranded = gateway_factory(storage)  # Triton address where nothing listens: jobs stay queued
    with stranded.client() as client:
        accepted = [client.post("/v1/jobs", files={"file": (name, photo_bytes(name))}).json()
                    for name in ("zidane.jpg", "bus.jpg", "grace_hopper.jpg")]
        assert {client.get(job["status_url"]).json()["status"] for job in accepted} == {"queued"}
    stranded.stop()
    crashed = storage / "jobs" / f"{accepted[0]['job_id']}.json"  # as if the process died mid-run
    crashed.write_text(json.dumps({**json.loads(crashed.read_text()), "status": "running"}))
    assert len(list((storage / "pending").iterdir())) == 3

    resumed = gateway_factory(storage, triton_url=triton_server.grpc_url)
    with resumed.client() as client:
        finished = [client.get(f"/v1/jobs/{job['job_id']}", params={"wait": 60}).json() for job in accepted]
        results = [client.get(job["result_url"]) for job in finished]
    assert [job["status"] for job in finished] == ["succeeded"] * 3
    assert [sum(not face["uncertain"] for face in job["metadata"]["faces"]) for job in finished] == [2, 2, 1]
    assert all(reply.status_code == 200 and reply.content for reply in results)
    assert finished[0]["last_retry_reason"] == "gateway restarted"
    assert list((storage / "pending").iterdir()) == []


def test_local_queue_runs_high_priority_jobs_first(gateway_factory: GatewayFactory, triton_server: Any, tmp_path: Path) -> None:
    """Jobs queued while Triton was away start in priority order, then by arrival."""
    storage = tmp_path / "storage"
    waiting = gateway_factory(storage)
    with waiting.client() as client:
        priorities = ["low", "low", "normal", "low", "high"]
        accepted = [client.post("/v1/jobs", files={"file": ("g.jpg", photo_bytes("grace_hopper.jpg"))},
                                data={"priority": priority}).json() for priority in priorities]
    waiting.stop()
    serving = gateway_factory(storage, triton_url=triton_server.grpc_url, workers=1)
    with serving.client() as client:
        finished = [client.get(f"/v1/jobs/{job['job_id']}", params={"wait": 60}).json() for job in accepted]
    assert [job["status"] for job in finished] == ["succeeded"] * 5
    started = sorted(finished, key=lambda job: job["started_at"])
    assert [job["priority"] for job in started] == ["high", "normal", "low", "low", "low"]
    assert [job["job_id"] for job in started[2:]] == [accepted[index]["job_id"] for index in (0, 1, 3)]
