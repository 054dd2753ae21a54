"""The HTTP surface over real HTTP, with a Triton address nothing listens on: checks, limits,
auth, access rules and the queued side of jobs (the Triton round trips are in test_triton.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.gateway.images import jpeg_claiming, png_header
from tests.photos import photo_bytes

MAX_UPLOAD = 100_000
BOMBS = {"png": png_header(60000, 60000), "jpeg": jpeg_claiming(60000, 60000)}  # 3.6 gigapixels in a few bytes


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    (root / "zidane.jpg").write_bytes(photo_bytes("zidane.jpg"))
    (root.parent / "private.jpg").write_bytes(photo_bytes("zidane.jpg"))
    return root


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, roots: Path) -> RunningGateway:
    return gateway_factory(max_upload_bytes=MAX_UPLOAD, allowed_roots=[roots], allowed_buckets=["photos-in"])


def upload(name: str, payload: bytes, **fields: str) -> dict[str, object]:
    return {"files": {"file": (name, payload, "application/octet-stream")}, "data": fields}


def test_alive_but_not_ready_without_triton(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["error"] == "not_ready"
    assert ready.json()["checks"]["storage"] == "ok"
    assert "pipeline" in ready.json()["checks"]["triton"]


def test_sync_call_without_triton_is_503_with_retry_after(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/process", **upload("zidane.jpg", photo_bytes("zidane.jpg")))
    assert reply.status_code == 503
    assert reply.json()["error"] == "triton_unavailable"
    assert reply.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"", 400, "empty_image"),
        (b"name,score\nalice,3\n" * 20, 415, "unsupported_format"),
        (b"GIF89a" + bytes(100), 415, "unsupported_format"),
        (b"\xff\xd8\xff" + bytes(MAX_UPLOAD), 413, "upload_too_large"),  # over the file limit, checked after parsing
        (b"\xff\xd8\xff" + bytes(3 * MAX_UPLOAD), 413, "upload_too_large"),  # over the body limit, stopped while streaming
    ],
    ids=["empty", "text", "gif", "file-over-limit", "body-over-limit"],
)
@pytest.mark.parametrize("route", ["/v1/process", "/v1/jobs"])
def test_bad_uploads_get_named_4xx(gateway: RunningGateway, route: str, payload: bytes, status: int, code: str) -> None:
    with gateway.client() as client:
        reply = client.post(route, **upload("upload.bin", payload))
    assert (reply.status_code, reply.json()["error"]) == (status, code), reply.text
    assert reply.json()["detail"]


def test_bad_options_and_priority_are_422(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        options = client.post("/v1/jobs", **upload("z.jpg", photo_bytes("zidane.jpg"), options='{"colour": 1}'))
        priority = client.post("/v1/jobs", **upload("z.jpg", photo_bytes("zidane.jpg"), priority="urgent"))
    assert (options.status_code, options.json()["error"]) == (422, "invalid_request")
    assert (priority.status_code, priority.json()["error"]) == (422, "invalid_request")


def test_job_is_stored_and_queued_while_triton_is_down(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        created = client.post("/v1/jobs", **upload("zidane.jpg", photo_bytes("zidane.jpg"), priority="high"))
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        assert created.json()["status"] == "queued"
        assert created.headers["Location"].endswith(f"/v1/jobs/{job_id}")
        status = client.get(f"/v1/jobs/{job_id}", params={"wait": 0.5}).json()
        result = client.get(f"/v1/jobs/{job_id}/result")
    assert status["status"] == "queued"
    assert status["priority"] == "high"
    original = Path(status["original"]["location"].removeprefix("file://"))
    assert original.read_bytes() == photo_bytes("zidane.jpg")
    assert status["original"]["content_type"] == "image/jpeg"
    assert (result.status_code, result.json()["error"]) == (409, "job_not_finished")


def test_unknown_job_is_404(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        for job_id in ("0" * 32, "../../etc/passwd", "nothing"):
            reply = client.get(f"/v1/jobs/{job_id}")
            assert reply.status_code == 404, job_id


def test_events_of_an_unknown_job_are_404_before_the_stream(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        created = client.post("/v1/jobs", **upload("zidane.jpg", photo_bytes("zidane.jpg")))
        job_id = created.json()["job_id"]
        reply = client.get("/v1/events", params={"job_id": f"{job_id},{'0' * 32}"})
    assert (reply.status_code, reply.json()["error"]) == (404, "job_not_found"), reply.text
    assert "0" * 32 in reply.json()["detail"]


def test_events_of_a_known_job_start_with_its_state(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        job_id = client.post("/v1/jobs", **upload("zidane.jpg", photo_bytes("zidane.jpg"))).json()["job_id"]
        with client.stream("GET", "/v1/events", params={"job_id": job_id}) as reply:
            lines = reply.iter_lines()
            assert reply.status_code == 200 and next(lines) == ": subscribed"
            data = next(line for line in lines if line.startswith("data: "))
    assert json.loads(data.removeprefix("data: "))["job_id"] == job_id


def test_events_of_a_job_named_twice_start_once_at_the_time_it_got_its_state(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        job = client.post("/v1/jobs", **upload("zidane.jpg", photo_bytes("zidane.jpg"))).json()
        created_at = client.get(f"/v1/jobs/{job['job_id']}").json()["created_at"]
        with client.stream("GET", "/v1/events", params={"job_id": [job["job_id"], job["job_id"]]}) as reply:
            lines = reply.iter_lines()
            first = json.loads(next(line for line in lines if line.startswith("data: ")).removeprefix("data: "))
            assert client.delete(f"/v1/jobs/{job['job_id']}").status_code == 200
            rest = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert first["status"] == "queued"
    assert first["at"] == created_at and first["at"].endswith("Z")  # not the time of subscribing; written like the record
    assert [event["status"] for event in rest] == ["deleted"]


@pytest.mark.parametrize("job_id", ["", ","])
def test_events_with_an_empty_job_id_are_422(gateway: RunningGateway, job_id: str) -> None:
    with gateway.client() as client:
        reply = client.get("/v1/events", params={"job_id": job_id}, timeout=5)
    assert (reply.status_code, reply.json()["error"]) == (422, "invalid_request"), reply.text
    assert "job_id" in reply.json()["detail"]


def test_batch_with_one_bad_file_queues_nothing(gateway: RunningGateway) -> None:
    files = [("files", ("a.jpg", photo_bytes("zidane.jpg"))), ("files", ("b.txt", b"hello world, not a photo"))]
    with gateway.client() as client:
        reply = client.post("/v1/jobs/batch", files=files)
    assert reply.status_code == 415
    assert "file 2 (b.txt)" in reply.json()["detail"]


@pytest.fixture(scope="module")
def bomb_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bomb-storage")


@pytest.fixture(scope="module")
def bomb_gateway(gateway_factory: GatewayFactory, bomb_storage: Path, roots: Path) -> RunningGateway:
    """A gateway of its own, so that its store shows whether anything was kept."""
    return gateway_factory(bomb_storage, allowed_roots=[roots])


def assert_refused_bomb(reply: httpx.Response) -> None:
    assert (reply.status_code, reply.json()["error"]) == (413, "image_too_large"), reply.text
    assert "60000x60000" in reply.json()["detail"] and "limit of 100000000" in reply.json()["detail"]


@pytest.mark.parametrize("kind", sorted(BOMBS))
@pytest.mark.parametrize("route", ["/v1/process", "/v1/jobs"])
def test_decompression_bomb_is_refused_before_anything_is_stored(
    bomb_gateway: RunningGateway, bomb_storage: Path, route: str, kind: str
) -> None:
    with bomb_gateway.client() as client:
        reply = client.post(route, **upload(f"bomb.{kind}", BOMBS[kind]))
    assert_refused_bomb(reply)  # without reaching Triton: the one configured is not even running
    assert not [path for path in bomb_storage.rglob("*") if path.is_file()]


def test_batch_with_a_bomb_queues_nothing(bomb_gateway: RunningGateway, bomb_storage: Path) -> None:
    files = [("files", ("a.jpg", photo_bytes("zidane.jpg"))), ("files", ("b.png", BOMBS["png"]))]
    with bomb_gateway.client() as client:
        reply = client.post("/v1/jobs/batch", files=files)
    assert_refused_bomb(reply)
    assert "file 2 (b.png)" in reply.json()["detail"]
    assert not [path for path in bomb_storage.rglob("*") if path.is_file()]


def test_referenced_bomb_is_refused(bomb_gateway: RunningGateway, bomb_storage: Path, roots: Path) -> None:
    (roots / "bomb.jpg").write_bytes(BOMBS["jpeg"])
    with bomb_gateway.client() as client:
        reply = client.post("/v1/jobs", json={"input_image": str(roots / "bomb.jpg")})
    assert_refused_bomb(reply)
    assert not [path for path in bomb_storage.rglob("*") if path.is_file()]


def test_pixel_limit_is_a_setting(gateway_factory: GatewayFactory) -> None:
    strict = gateway_factory(max_pixels=256_000)  # coffee.png is 600x400, zidane.jpg 1280x720
    with strict.client() as client:
        reply = client.post("/v1/jobs", **upload("zidane.jpg", photo_bytes("zidane.jpg")))
        small = client.post("/v1/jobs", **upload("coffee.png", photo_bytes("coffee.png")))
    assert (reply.status_code, reply.json()["error"]) == (413, "image_too_large")
    assert "1280x720 = 921600 pixels, above the limit of 256000 (GATEWAY_MAX_PIXELS)" in reply.json()["detail"]
    assert small.status_code == 202, small.text


@pytest.mark.parametrize(
    ("reference", "rule"),
    [
        ("{root}/../private.jpg", "GATEWAY_ALLOWED_ROOTS"),
        ("/etc/passwd", "GATEWAY_ALLOWED_ROOTS"),
        ("relative/zidane.jpg", "relative path"),
        ("s3://someone-elses-bucket/zidane.jpg", "GATEWAY_ALLOWED_BUCKETS"),
    ],
    ids=["traversal", "outside", "relative", "bucket"],
)
def test_paths_and_buckets_outside_the_rules_are_403(gateway: RunningGateway, roots: Path, reference: str, rule: str) -> None:
    body = {"input_image": reference.format(root=roots), "operation": "blur"}
    with gateway.client() as client:
        reply = client.post("/v1/jobs", json=body)
    assert (reply.status_code, reply.json()["error"]) == (403, "access_denied")
    assert rule in reply.json()["detail"]


def test_output_outside_the_rules_is_refused_before_anything_is_queued(gateway: RunningGateway, roots: Path) -> None:
    body = {"input_image": str(roots / "zidane.jpg"), "output_image": str(roots.parent / "elsewhere" / "out.jpg")}
    with gateway.client() as client:
        reply = client.post("/v1/jobs", json=body)
    assert reply.status_code == 403


def test_allowed_path_job_is_accepted(gateway: RunningGateway, roots: Path) -> None:
    body = {"input_image": str(roots / "zidane.jpg"), "output_image": str(roots / "out" / "zidane.jpg"), "priority": 3}
    with gateway.client() as client:
        reply = client.post("/v1/jobs", json=body)
        missing = client.post("/v1/jobs", json={"input_image": str(roots / "nope.jpg")})
        malformed = client.post("/v1/jobs", json={"output_image": "x"})
    assert reply.status_code == 202, reply.text
    assert reply.json()["priority"] == "low"
    assert (missing.status_code, missing.json()["error"]) == (404, "source_not_found")
    assert (malformed.status_code, malformed.json()["error"]) == (422, "invalid_request")


def test_api_key_required_when_configured(gateway_factory: GatewayFactory) -> None:
    secured = gateway_factory(api_keys=["s3cret", "other"])
    with secured.client() as client:
        missing = client.get("/v1/stats")
        wrong = client.get("/v1/stats", headers={"X-API-Key": "guess"})
        right = client.get("/v1/stats", headers={"X-API-Key": "s3cret"})
        health = client.get("/healthz")
    assert (missing.status_code, missing.json()["error"]) == (401, "unauthorized")
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert health.status_code == 200


def test_web_page_docs_and_metrics(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        page = client.get("/")
        docs = client.get("/docs")
        spec = client.get("/openapi.json").json()
        client.get(f"/v1/jobs/{'0' * 32}")
        metrics = client.get("/metrics").text
    assert page.status_code == 200 and "<form" in page.text and "assets/app.js" in page.text
    assert docs.status_code == 200
    assert {"/v1/process", "/v1/jobs", "/v1/jobs/batch", "/v1/events", "/v1/stats"} <= set(spec["paths"])
    create = spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(create)
    assert 'gateway_http_requests_total{method="GET",route="/v1/jobs/{job_id}",status="404"}' in metrics
    assert "gateway_job_queue_depth" in metrics
    assert "gateway_triton_in_flight" in metrics


def test_stats_say_triton_is_unreachable(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        stats = client.get("/v1/stats").json()
    assert "error" in stats["triton"]
    assert stats["jobs"]["queued"] >= 1
    assert json.dumps(stats)
