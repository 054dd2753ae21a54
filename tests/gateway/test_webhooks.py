"""Webhooks over real HTTP: the gateway (no Triton; jobs end as ``job_expired`` after a 1 s
deadline) POSTs each job's outcome to a receiver served by this test on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.errors import CallbackNotAllowedError
from gateway.jobs.webhooks import check_callback_url, host_allowed
from gateway.jobs.webhooks import verify as verify_signature
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.gateway.webhook_receiver import Receiver
from tests.photos import photo_bytes

SECRET = "test-webhook-secret"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


WEBHOOKS = {"webhook_secret": SECRET, "webhook_allowed_hosts": ["127.0.0.1", "*.example.org"], "webhook_attempts": 3,
            "webhook_initial_delay_s": 0.2, "webhook_max_delay_s": 1.5, "webhook_timeout_s": 2.0, "job_deadline_s": 1.0}


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory) -> RunningGateway:
    return gateway_factory(**WEBHOOKS)


def submit(client: httpx.Client, callback_url: str, name: str = "zidane.jpg") -> httpx.Response:
    return client.post("/v1/jobs", files={"file": (name, photo_bytes("zidane.jpg"))}, data={"callback_url": callback_url})


def wait_delivery(client: httpx.Client, job_id: str, timeout_s: float = 30) -> dict[str, Any]:
    """The job record once its webhook delivery has ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["webhook"] and job["webhook"]["state"] != "pending":
            return job
        time.sleep(0.1)
    raise AssertionError(f"the delivery of job {job_id} did not end within {timeout_s} s: {job}")


def deliveries(client: httpx.Client, state: str) -> float:
    """gateway_webhook_deliveries_total{state} from /metrics."""
    prefix = f'gateway_webhook_deliveries_total{{state="{state}"}} '
    lines = [line for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def verify(request: dict[str, Any]) -> bool:
    """What a receiver does (the README's helper, written out here independently)."""
    timestamp = request["headers"]["X-Webhook-Timestamp"]
    expected = hmac.new(SECRET.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(request["headers"]["X-Signature-256"], f"sha256={expected}")


def test_signed_delivery_retried_after_a_500(gateway: RunningGateway, receiver: Receiver) -> None:
    receiver.script["/flaky"] = [500]
    with gateway.client() as client:
        reply = submit(client, f"{receiver.url}/flaky", "Été.jpg")
        assert reply.status_code == 202, reply.text
        job_id = reply.json()["job_id"]
        job = wait_delivery(client, job_id)
    requests = receiver.at("/flaky")
    assert len(requests) == 2
    assert all(verify(request) for request in requests)
    assert all(verify_signature(SECRET.encode(), request["headers"]["X-Webhook-Timestamp"], request["body"],
                                request["headers"]["X-Signature-256"]) for request in requests)  # the module's helper agrees
    tampered = {**requests[1], "body": requests[1]["body"].replace(b"failed", b"succeeded")}
    assert not verify(tampered), "a changed body must not verify"
    body = json.loads(requests[1]["body"])
    assert body["job_id"] == job_id and body["status"] == "failed"
    assert body["error"]["error"] == "job_expired"
    assert body["status_url"] == f"{gateway.url}/v1/jobs/{job_id}" and body["result_url"] is None
    assert body["filename"] == "Été.jpg" and body["timestamp"] == int(requests[1]["headers"]["X-Webhook-Timestamp"])
    assert requests[1]["headers"]["X-Webhook-Id"] == job_id
    assert (body["created_at"], body["finished_at"]) == (job["created_at"], job["finished_at"])  # times written alike
    assert body["created_at"].endswith("Z")
    delivery = job["webhook"]
    assert delivery["state"] == "delivered" and delivery["url"] == f"{receiver.url}/flaky"
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 200]
    assert delivery["attempts"][0]["error"] == "HTTP 500" and delivery["attempts"][1]["error"] is None
    assert all(attempt["duration_ms"] >= 0 and attempt["at"] for attempt in delivery["attempts"])
    gap = requests[1]["at"] - requests[0]["at"]
    assert gap >= 0.15, f"the retry waited the back-off delay (0.2 s), not {gap:.3f} s"


def test_a_receiver_that_keeps_failing_is_given_up_with_the_reason(gateway: RunningGateway, receiver: Receiver) -> None:
    receiver.script["/down"] = [503, 503, 503, 503]
    with gateway.client() as client:
        failed_before = deliveries(client, "failed")
        job = wait_delivery(client, submit(client, f"{receiver.url}/down").json()["job_id"])
        assert deliveries(client, "failed") == failed_before + 1
    delivery = job["webhook"]
    assert delivery["state"] == "failed"
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [503, 503, 503]
    assert "gave up after 3 attempt(s)" in delivery["reason"] and "HTTP 503" in delivery["reason"]
    assert len(receiver.at("/down")) == 3


@pytest.mark.parametrize(("retry_after", "least_s", "most_s"),
                         [("1", 0.9, 1.4), ("3600", 1.4, 3.0), ("\u00b2", 0.15, 1.4), ("-5", 0.15, 1.4)],
                         ids=["1", "3600", "superscript-two", "negative"])  # odd ones: the back-off, as without it
def test_retry_after_is_honoured_up_to_the_longest_delay(
    gateway: RunningGateway, receiver: Receiver, retry_after: str, least_s: float, most_s: float
) -> None:
    path = f"/busy-{retry_after.encode('unicode_escape').decode()}"
    receiver.script[path], receiver.retry_after[path] = [429], retry_after
    with gateway.client() as client:
        job = wait_delivery(client, submit(client, f"{receiver.url}{path}").json()["job_id"])
    assert [attempt["status_code"] for attempt in job["webhook"]["attempts"]] == [429, 200]
    first, second = receiver.at(path)
    assert least_s <= second["at"] - first["at"] <= most_s  # Retry-After, capped by GATEWAY_WEBHOOK_MAX_DELAY_S (1.5 s)


def test_no_answer_is_retried_and_recorded(gateway: RunningGateway, receiver: Receiver) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}/nobody"
    with gateway.client() as client:
        job = wait_delivery(client, submit(client, closed).json()["job_id"])
    attempts = job["webhook"]["attempts"]
    assert len(attempts) == 3 and all(attempt["status_code"] is None and attempt["error"] for attempt in attempts)
    assert "ConnectError" in job["webhook"]["reason"]


@pytest.mark.parametrize(("status", "reason"), [(404, "HTTP 404"), (302, "redirects are not followed")])
def test_a_4xx_or_a_redirect_is_not_retried(gateway: RunningGateway, receiver: Receiver, status: int, reason: str) -> None:
    path = f"/refuse-{status}"
    receiver.script[path] = [status]
    with gateway.client() as client:
        job = wait_delivery(client, submit(client, f"{receiver.url}{path}").json()["job_id"])
    assert job["webhook"]["state"] == "failed" and reason in job["webhook"]["reason"]
    assert len(job["webhook"]["attempts"]) == 1
    assert receiver.at("/elsewhere") == [], "the redirect was not followed"


@pytest.mark.parametrize(
    ("url", "why"),
    [("http://169.254.169.254/latest/meta-data", "not in GATEWAY_WEBHOOK_ALLOWED_HOSTS"),
     ("http://example.org/hook", "not in GATEWAY_WEBHOOK_ALLOWED_HOSTS"),  # *.example.org: subdomains only
     ("ftp://127.0.0.1/hook", "http or https"),
     ("http://user:pw@127.0.0.1/hook", "credentials"),
     ("http://127.0.0.1:99999/hook", "not a valid URL"),
     ("http://127.0.0.1/a\r\nX-Evil: 1", "control characters")],
)
def test_disallowed_callbacks_are_422_and_nothing_is_stored(gateway: RunningGateway, url: str, why: str) -> None:
    with gateway.client() as client:
        before = _keys(gateway)
        form = submit(client, url)
        batch = client.post("/v1/jobs/batch", files=[("files", ("a.jpg", photo_bytes("zidane.jpg")))], data={"callback_url": url})
        reference = client.post("/v1/jobs", json={"input_image": "/nowhere.jpg", "callback_url": url})
        assert _keys(gateway) == before
    for reply in (form, batch, reference):
        assert (reply.status_code, reply.json()["error"]) == (422, "callback_not_allowed"), reply.text
        assert why in reply.json()["detail"]


def test_callbacks_refused_by_name_when_not_configured(gateway_factory: GatewayFactory, receiver: Receiver) -> None:
    unconfigured = gateway_factory()
    with unconfigured.client() as client:
        reply = submit(client, f"{receiver.url}/x")
    assert (reply.status_code, reply.json()["error"]) == (422, "callback_not_allowed")
    assert "GATEWAY_WEBHOOK_ALLOWED_HOSTS is empty" in reply.json()["detail"]


def test_host_rules() -> None:
    assert host_allowed("hooks.example.org", ["*.example.org"]) and host_allowed("A.B.Example.org.", ["*.example.org"])
    assert not host_allowed("example.org", ["*.example.org"]) and not host_allowed("badexample.org", ["*.example.org"])
    assert host_allowed("receiver.internal", ["receiver.internal"]) and not host_allowed("receiver.internal.evil", ["receiver.internal"])
    with pytest.raises(CallbackNotAllowedError, match="GATEWAY_WEBHOOK_SECRET"):
        check_callback_url("http://receiver.internal/", ["receiver.internal"], signing=False)
    for bad_port in ("http://receiver.internal:0/", "http://receiver.internal:70000/", "http://receiver.internal:x/"):
        with pytest.raises(CallbackNotAllowedError, match="not a valid URL"):
            check_callback_url(bad_port, ["receiver.internal"], signing=True)
    assert check_callback_url("http://receiver.internal:8443/", ["receiver.internal"], signing=True)


def test_a_delivery_cut_by_shutdown_is_made_at_the_next_start(gateway_factory: GatewayFactory, receiver: Receiver, tmp_path: Path) -> None:
    receiver.hang_s["/slow"] = 4.0  # the first attempt is in flight when the gateway stops
    first = gateway_factory(tmp_path, **{**WEBHOOKS, "webhook_timeout_s": 10.0})
    with first.client() as client:
        job_id = submit(client, f"{receiver.url}/slow").json()["job_id"]
        receiver.wait_for("/slow")
    assert receiver.at("/slow"), "the first attempt started"
    first.stop()
    assert (tmp_path / "webhooks-pending" / job_id).exists()
    record = json.loads((tmp_path / "webhooks" / f"{job_id}.json").read_text())
    assert record["state"] == "pending" and "shut down" in record["reason"]
    receiver.hang_s["/slow"] = 0.0
    second = gateway_factory(tmp_path, **WEBHOOKS)
    with second.client() as client:
        job = wait_delivery(client, job_id)
    assert job["webhook"]["state"] == "delivered"
    assert len(receiver.at("/slow")) == 2
    assert not (tmp_path / "webhooks-pending" / job_id).exists()


def _closed_port() -> int:
    from tests.gateway.conftest import free_port

    return free_port()


def _keys(gateway: RunningGateway) -> set[str]:
    root = Path(gateway.settings.storage_url)
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def test_a_delivery_left_by_a_dead_replica_is_taken_over(gateway_factory: GatewayFactory, receiver: Receiver, tmp_path: Path) -> None:
    quick = {**WEBHOOKS, "webhook_max_delay_s": 0.3, "webhook_timeout_s": 1.0, "webhook_sweep_s": 0.3}  # stale after 2.6 s
    survivor = gateway_factory(tmp_path, **quick)
    receiver.hang_s["/orphan"] = 3.0
    dying = gateway_factory(tmp_path, **{**quick, "webhook_timeout_s": 10.0})
    with dying.client() as client:
        job_id = submit(client, f"{receiver.url}/orphan").json()["job_id"]
        receiver.wait_for("/orphan")
    dying.stop()  # mid-attempt: its record stays pending
    stopped = time.time()
    receiver.hang_s["/orphan"] = 0.0
    with survivor.client() as client:
        job = wait_delivery(client, job_id)
    assert job["webhook"]["state"] == "delivered"
    requests = receiver.at("/orphan")
    assert len(requests) == 2 and requests[1]["at"] - stopped >= 2.0, "taken over once stale, not before"
