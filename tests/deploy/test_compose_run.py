"""compose.yaml's gateway service run for real, without Docker: `python -m gateway` (the image's
CMD) with the Dockerfile's and compose's environment, against a real Triton (the test session's,
standing in for the `triton` service), nats-server with the `nats` service's command, and moto's
S3 server standing in for MinIO with the bucket `minio-init` creates. Only the service addresses
are rewritten to loopback ports. It becomes healthy by compose's own healthcheck command, runs
a job end to end through NATS and S3, and stops cleanly on SIGTERM, as `docker compose stop` does."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image

from tests.deploy.compose_files import TEST_ENVIRON, interpolate, load
from tests.deploy.compose_run import compose_nats, free_port, http_json, rewrite, wait_until
from tests.deploy.dockerfiles import instructions
from tests.photos import photo_pixels

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = ROOT / "model_repository"


def image_environment() -> dict[str, str]:
    """The ENV lines of docker/gateway.Dockerfile's runtime stage."""
    steps = instructions(ROOT / "docker" / "gateway.Dockerfile")
    runtime = steps[max(index for index, (instruction, _) in enumerate(steps) if instruction == "FROM"):]
    return {name: value for instruction, arguments in runtime if instruction == "ENV"
            for name, value in re.findall(r"(\w+)=(\S+)", arguments)}


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def make_bucket(endpoint: str, bucket: str) -> Any:
    """What the `minio-init` service does with `mc mb --ignore-existing`."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=TEST_ENVIRON["MINIO_ROOT_USER"], aws_secret_access_key=TEST_ENVIRON["MINIO_ROOT_PASSWORD"],
    )
    client.create_bucket(Bucket=bucket)
    return client


def test_the_compose_gateway_serves_jobs_through_nats_and_s3(triton_server: Any, s3: str, tmp_path: Path) -> None:
    model = interpolate(load("compose.yaml"), TEST_ENVIRON)
    service = model["services"]["gateway"]
    bucket = service["environment"]["GATEWAY_STORAGE_URL"].removeprefix("s3://")
    objects = make_bucket(s3, bucket)
    port = free_port()
    with compose_nats(model["services"]["nats"], tmp_path / "nats") as (nats_url, monitor):
        environment = rewrite({**image_environment(), **service["environment"]}, {
            "triton:8001": triton_server.grpc_url, "nats://nats:4222": nats_url, "http://minio:9000": s3,
            "0.0.0.0": "127.0.0.1", "/models": str(REPOSITORY),
        })
        environment |= {"GATEWAY_PORT": str(port), "PATH": os.environ["PATH"], "GATEWAY_LOG_LEVEL": "WARNING"}
        log = tmp_path / "gateway.log"
        with log.open("wb") as output:
            gateway = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=tmp_path, env=environment,
                                       stdout=output, stderr=subprocess.STDOUT)
        try:
            healthcheck = [sys.executable if word == "python" else word.replace(":8080", f":{port}")
                           for word in service["healthcheck"]["test"][1:]]
            wait_until(lambda: subprocess.run(healthcheck, capture_output=True, timeout=10).returncode == 0,
                       lambda: gateway.poll() is None, 120, log.read_text)
            run_one_job(f"http://127.0.0.1:{port}", environment["GATEWAY_API_KEYS"].split(",")[0])
            stored = {item["Key"].split("/")[0] for item in objects.list_objects_v2(Bucket=bucket)["Contents"]}
            assert {"originals", "results", "metadata", "jobs"} <= stored
            assert_keda_finds_the_consumers(monitor)
            gateway.send_signal(signal.SIGTERM)
            assert gateway.wait(timeout=int(service["stop_grace_period"].removesuffix("s"))) == 0, log.read_text()
        finally:
            if gateway.poll() is None:
                gateway.kill()
                gateway.wait()


def run_one_job(url: str, api_key: str) -> None:
    photo = io.BytesIO()
    Image.fromarray(photo_pixels("astronaut.png")).resize((256, 256)).save(photo, format="JPEG", quality=90)
    with httpx.Client(base_url=url, timeout=120, headers={"X-API-Key": api_key}) as client:
        assert client.post("/v1/jobs", files={"file": ("a.jpg", b"\xff\xd8")}, headers={"X-API-Key": "wrong"}).status_code == 401
        accepted = client.post("/v1/jobs", files={"file": ("astronaut.jpg", photo.getvalue(), "image/jpeg")})
        assert accepted.status_code == 202, accepted.text
        job = client.get(f"/v1/jobs/{accepted.json()['job_id']}", params={"wait": 60}).json()
        assert job["status"] == "succeeded", job
        result = client.get(f"/v1/jobs/{job['job_id']}/result")
        assert result.status_code == 200 and result.headers["content-type"] == "image/jpeg"
        assert job["metadata"]["faces"], "the astronaut's face was found (and blurred)"


def assert_keda_finds_the_consumers(monitor: int) -> None:
    """The request KEDA's nats-jetstream scaler makes (pkg/scalers/nats_jetstream_scaler.go, v2.20)
    with deploy/keda's account, finds the stream and every consumer its triggers name."""
    triggers = [
        trigger["metadata"]
        for item in yaml.safe_load_all((ROOT / "deploy" / "keda" / "gateway-scaledobject.yaml").read_text())
        for trigger in item["spec"]["triggers"] if trigger["type"] == "nats-jetstream"
    ]
    (account,) = {trigger["account"] for trigger in triggers}
    answer = http_json(f"http://127.0.0.1:{monitor}/jsz?acc={urllib.parse.quote(account)}&consumers=true&config=true")
    (details,) = [detail for detail in answer["account_details"] if detail["name"] == account]
    streams = {stream["name"]: stream for stream in details["stream_detail"]}
    for trigger in triggers:
        consumers = {consumer["name"]: consumer for consumer in streams[trigger["stream"]]["consumer_detail"]}
        assert consumers[trigger["consumer"]]["num_pending"] == 0, "the job was taken and acknowledged"
