"""Jobs through each engine against the real Triton: the delivery limit ends a job with a named
failure, and a second delivery of a finished job is acknowledged without running it again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from gateway.jobs.engine.jetstream import STREAM, job_subject
from gateway.jobs.engine.server import NatsServer
from gateway.jobs.models import Priority
from tests.gateway.conftest import GatewayFactory
from tests.gateway.test_job_lifecycle import upload, wait_for

pytestmark = pytest.mark.server


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with NatsServer(tmp_path / "nats") as server:
        yield server.url


@pytest.mark.parametrize("engine", ["in-process", "jetstream"])
def test_a_job_past_its_delivery_limit_fails_named(
    engine: str, gateway_factory: GatewayFactory, triton_server: Any, nats_url: str
) -> None:
    """Every attempt outlasts a 50 ms inference deadline and is retried; the third delivery is one too many."""
    gateway = gateway_factory(
        triton_url=triton_server.grpc_url, triton_timeout_s=0.05, job_max_timeouts=10, job_max_deliveries=3,
        retry_initial_s=0.05, retry_max_s=0.1, nats_url=nats_url if engine == "jetstream" else "",
    )
    with gateway.client() as client:
        job = wait_for(client, upload(client).json()["job_id"], "failed", timeout_s=60)
    assert job["error"]["error"] == "delivery_limit", job["error"]
    assert "delivered 3 times" in job["error"]["detail"] and "GATEWAY_JOB_MAX_DELIVERIES" in job["error"]["detail"]
    assert job["attempts"] == 3 and job["timeouts"] == 3


def test_a_second_delivery_of_a_finished_job_is_acked_without_running(
    gateway_factory: GatewayFactory, triton_server: Any, nats_url: str
) -> None:
    gateway = gateway_factory(triton_url=triton_server.grpc_url, nats_url=nats_url)
    with gateway.client() as client:
        done = wait_for(client, upload(client).json()["job_id"], "succeeded", timeout_s=60)
        asyncio.run(publish_again(nats_url, done["job_id"]))  # as a replica that died between publish and ack would
        again = client.get(f"/v1/jobs/{done['job_id']}").json()
        events = client.get("/v1/events", params={"job_id": done["job_id"]}, timeout=10).text
    assert again == done, "not run again: the same record"
    assert events.count("event: job") == 1


async def publish_again(url: str, job_id: str) -> None:
    """A second message for ``job_id`` (another message id, so JetStream keeps it), then wait until a worker acked it."""
    connection = await nats.connect(url)
    try:
        stream = connection.jetstream()
        await stream.publish(job_subject(Priority.normal), job_id.encode(), headers={"Nats-Msg-Id": f"{job_id}-again"})
        for _ in range(100):
            if (await stream.stream_info(STREAM)).state.messages == 0:
                return
            await asyncio.sleep(0.1)
        raise AssertionError("the second delivery was not acknowledged")
    finally:
        await connection.close()
