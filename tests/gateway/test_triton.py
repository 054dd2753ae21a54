"""The gateway over real HTTP in front of the real Triton: sync and async round trips, batches,
long polls, Server-Sent Events, priority, the image checks Triton makes, stats and metrics."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.gateway.images import assert_blurred, big_png, decode
from tests.photos import photo_bytes, photo_pixels
from tests.priority import BACKLOG, MIN_OVERTAKEN, overtaken

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any) -> RunningGateway:
    return gateway_factory(triton_url=triton_server.grpc_url, max_in_flight=BACKLOG + 10, workers=4)


def post_photo(client: httpx.Client, route: str, name: str, **fields: str) -> httpx.Response:
    return client.post(route, files={"file": (name, photo_bytes(name))}, data=fields)


@pytest.mark.parametrize(
    ("name", "faces", "content_type"),
    [("zidane.jpg", 2, "image/jpeg"), ("astronaut.png", 1, "image/png"), ("grace_hopper.jpg", 1, "image/jpeg"),
     ("coffee.png", 0, "image/png")],
)
def test_sync_round_trip_blurs_the_faces(gateway: RunningGateway, name: str, faces: int, content_type: str) -> None:
    with gateway.client() as client:
        reply = post_photo(client, "/v1/process", name)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == content_type
    metadata = json.loads(reply.headers["X-Metadata"])
    assert sum(not face["uncertain"] for face in metadata["faces"]) == faces  # uncertain ones are blurred too
    assert metadata["output"]["bytes"] == len(reply.content)
    assert_blurred(photo_pixels(name), decode(reply.content), [region["box"] for region in metadata["blurred"]])


def test_sync_with_options_and_metadata_as_json(gateway: RunningGateway) -> None:
    options = json.dumps({"blur_kind": "pixelate", "blur_strength": 2})
    with gateway.client() as client:
        reply = post_photo(client, "/v1/process?include=metadata", "bus.jpg", format="png", options=options, priority="high")
        assert reply.status_code == 200, reply.text
        body = reply.json()
        result = client.get(body["result_url"])
        job = client.get(f"/v1/jobs/{body['job_id']}").json()
    assert body["content_type"] == "image/png"
    assert body["metadata"]["blur"]["kind"] == "pixelate"
    assert result.headers["content-type"] == "image/png"
    assert_blurred(photo_pixels("bus.jpg"), decode(result.content), [face["box"] for face in body["metadata"]["faces"]])
    assert job["status"] == "succeeded" and job["priority"] == "high"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (photo_bytes("zidane.jpg")[:4000], 422, "corrupt_image"),
        (big_png(12000, 9000), 413, "image_too_large"),  # above the decode limit of 100 MP
    ],
    ids=["truncated-jpeg", "pixel-bomb"],
)
def test_triton_refusals_are_named_4xx(gateway: RunningGateway, payload: bytes, status: int, code: str) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("bad.img", payload)})
        invalid = post_photo(client, "/v1/process", "zidane.jpg", options='{"quality": 0}')
    assert (reply.status_code, reply.json()["error"]) == (status, code), reply.text
    assert (invalid.status_code, invalid.json()["error"]) == (422, "invalid_option"), invalid.text


def test_async_job_round_trip_with_long_poll(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        created = post_photo(client, "/v1/jobs", "zidane.jpg")
        assert created.status_code == 202, created.text
        started = time.monotonic()
        job = client.get(created.json()["status_url"], params={"wait": 60}).json()
        waited = time.monotonic() - started
        result = client.get(job["result_url"])
    assert job["status"] == "succeeded", job
    assert waited < 30, "the long poll returned when the job finished, not at its deadline"
    assert job["started_at"] >= job["created_at"] and job["finished_at"] >= job["started_at"]
    assert job["processing_ms"] > 0 and job["attempts"] == 1
    assert sum(not face["uncertain"] for face in job["metadata"]["faces"]) == 2 and job["metadata"]["blur"]["kind"] == "gaussian"
    assert Path(job["result"]["location"].removeprefix("file://")).read_bytes() == result.content
    stored_metadata = json.loads(Path(job["metadata_object"]["location"].removeprefix("file://")).read_text())
    assert stored_metadata == job["metadata"]
    assert_blurred(photo_pixels("zidane.jpg"), decode(result.content), [face["box"] for face in job["metadata"]["faces"]])


def test_batch_of_ten(gateway: RunningGateway) -> None:
    names = ["grace_hopper.jpg", "bus.jpg", "astronaut.png", "coffee.png", "zidane.jpg"] * 2
    with gateway.client() as client:
        reply = client.post("/v1/jobs/batch", files=[("files", (name, photo_bytes(name))) for name in names])
        assert reply.status_code == 202, reply.text
        accepted = reply.json()["jobs"]
        finished = [client.get(job["status_url"], params={"wait": 60}).json() for job in accepted]
    assert len(accepted) == 10 and len({job["job_id"] for job in accepted}) == 10
    assert [job["status"] for job in finished] == ["succeeded"] * 10
    assert [job["filename"] for job in finished] == names
    assert [sum(not face["uncertain"] for face in job["metadata"]["faces"]) for job in finished] == [1, 2, 1, 0, 2] * 2


def read_events(url: str, subscribed: threading.Event, until: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Data of every ``job`` event until one has status ``until``."""
    events: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{url}/v1/events", params=params, timeout=60) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if line.startswith(":"):
                subscribed.set()
            elif line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
                if events[-1]["status"] == until:
                    return events
    return events


def test_server_sent_events_report_each_state(gateway: RunningGateway) -> None:
    subscribed = threading.Event()
    with ThreadPoolExecutor(2) as pool, gateway.client() as client:
        everything = pool.submit(read_events, gateway.url, subscribed, "succeeded")
        assert subscribed.wait(10), "no subscription comment"
        job_id = post_photo(client, "/v1/jobs", "grace_hopper.jpg").json()["job_id"]
        one_job = pool.submit(read_events, gateway.url, threading.Event(), "succeeded", {"job_id": job_id})
        mine = [event for event in everything.result(60) if event["job_id"] == job_id]
        filtered = one_job.result(60)
    assert [event["status"] for event in mine] == ["queued", "running", "succeeded"]
    assert {event["job_id"] for event in filtered} == {job_id}
    assert filtered[-1]["status"] == "succeeded"


def test_high_priority_overtakes_a_backlog_through_the_gateway(gateway: RunningGateway) -> None:
    """Sync calls go straight to Triton: the order of completion is Triton's priority queue at work.

    The three high-priority calls are sent once the backlog of low-priority calls is in flight
    to Triton (the gateway's in-flight gauge says so); see tests/priority.py for the measure.
    """
    payload = photo_bytes("astronaut.png")

    async def flood() -> dict[str, list[float]]:
        finished: dict[str, list[float]] = {"low": [], "high": []}
        async with httpx.AsyncClient(base_url=gateway.url, timeout=300) as client:

            async def send(priority: str) -> None:
                reply = await client.post("/v1/process", files={"file": ("a.png", payload)}, data={"priority": priority})
                assert reply.status_code == 200, reply.text
                finished[priority].append(time.monotonic())

            async def backlog_reached_triton() -> bool:
                metrics = (await client.get("/metrics")).text
                in_flight = next(line for line in metrics.splitlines() if line.startswith("gateway_triton_in_flight "))
                return float(in_flight.split()[1]) + len(finished["low"]) >= BACKLOG

            lows = [asyncio.create_task(send("low")) for _ in range(BACKLOG)]
            deadline = time.monotonic() + 60
            while not await backlog_reached_triton() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            highs = [asyncio.create_task(send("high")) for _ in range(3)]
            await asyncio.gather(*lows, *highs)
        return finished

    finished = asyncio.run(flood())
    count = overtaken(finished["low"], finished["high"])
    assert count >= MIN_OVERTAKEN, f"the high-priority calls overtook {count} of {BACKLOG} low-priority ones"


def test_ready_stats_and_metrics_after_work(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        job = post_photo(client, "/v1/jobs", "grace_hopper.jpg").json()
        assert client.get(job["status_url"], params={"wait": 60}).json()["status"] == "succeeded"
        ready = client.get("/readyz")
        stats = client.get("/v1/stats").json()
        metrics = client.get("/metrics").text
    assert ready.status_code == 200, ready.text
    models = {model["name"]: model for model in stats["triton"]["models"]}
    assert models["pipeline"]["inference_count"] > 0 and models["decode"]["execution_count"] > 0
    assert stats["gateway"]["processed"]["succeeded"] > 0
    assert 0 < stats["gateway"]["success_rate"] <= 1
    assert stats["jobs"]["succeeded"] >= 1 and stats["queue_depth"] == 0
    assert 'gateway_triton_call_duration_seconds_count{outcome="succeeded"}' in metrics
    assert 'gateway_jobs{state="succeeded"}' in metrics
