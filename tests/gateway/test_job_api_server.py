"""The job API through the real Triton: a succeeded job's webhook links, its download name and
metadata, and the listing of succeeded jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.gateway.webhook_receiver import Receiver
from tests.photos import photo_bytes

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any) -> RunningGateway:
    return gateway_factory(triton_url=triton_server.grpc_url, webhook_secret="s", webhook_allowed_hosts=["127.0.0.1"])


def test_succeeded_job_webhook_links_download_name_and_listing(gateway: RunningGateway, receiver: Receiver) -> None:
    with gateway.client() as client:
        reply = client.post(
            "/v1/jobs", files={"file": ("Été à Paris.jpg", photo_bytes("zidane.jpg"))},
            data={"format": "png", "callback_url": f"{receiver.url}/done"},
        )
        assert reply.status_code == 202, reply.text
        job_id = reply.json()["job_id"]
        deadline = time.monotonic() + 120
        while not receiver.at("/done") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert receiver.at("/done"), "the webhook arrived"
        body = json.loads(receiver.at("/done")[0]["body"])
        result = client.get(body["result_url"])
        metadata = client.get(body["metadata_url"]).json()
        listed = client.get("/v1/jobs", params={"status": "succeeded"}).json()["jobs"]
        job = client.get(body["status_url"]).json()
    assert body["status"] == "succeeded" and body["error"] is None and body["job_id"] == job_id
    assert result.status_code == 200 and result.headers["content-type"] == "image/png"
    assert result.headers["content-disposition"] == (
        "attachment; filename=\"Ete a Paris.png\"; filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris.png"
    )
    assert metadata == job["metadata"] and len(metadata["faces"]) >= 2
    assert [row["job_id"] for row in listed] == [job_id] and listed[0]["result_url"] == body["result_url"]
    assert job["webhook"]["state"] == "delivered" and job["webhook"]["attempts"][0]["status_code"] == 200


def test_sync_answer_names_the_photo_after_the_upload(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("Été.jpg", photo_bytes("zidane.jpg"))}, data={"format": "png"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-disposition"] == (
        "inline; filename=\"Ete-anonymised.png\"; filename*=UTF-8''%C3%89t%C3%A9-anonymised.png"
    )
