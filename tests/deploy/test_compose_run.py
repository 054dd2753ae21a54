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
import shutil
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from PIL import Image

from tests.deploy.compose_files import TEST_ENVIRON, interpolate, load
from tests.deploy.compose_run import compose_nats, http_json, rewrite, wait_until
from tests.deploy.dockerfiles import instructions
from tests.deploy.monitoring import PROMETHEUS, alert_rules, expressions
from tests.gateway import conftest as gateway_conftest
from tests.photos import photo_pixels
from triton.ports import free_port

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = ROOT / "model_repository"


def image_environment() -> dict[str, str]:
    """The ENV lines of docker/gateway.Dockerfile's runtime stage."""
    steps = instructions(ROOT / "docker" / "gateway.Dockerfile")
    runtime = steps[max(index for index, (instruction, _) in enumerate(steps) if instruction == "FROM") :]
    return {
        name: value
        for instruction, arguments in runtime
        if instruction == "ENV"
        for name, value in re.findall(r"(\w+)=(\S+)", arguments)
    }


def make_bucket(endpoint: str, bucket: str) -> Any:
    """What the `minio-init` service does with `mc mb --ignore-existing`."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=TEST_ENVIRON["MINIO_ROOT_USER"],
        aws_secret_access_key=TEST_ENVIRON["MINIO_ROOT_PASSWORD"],
    )
    client.create_bucket(Bucket=bucket)
    return client


@dataclass
class Stack:
    service: dict[str, Any]
    url: str
    api_key: str
    nats_monitor: int
    bucket: str
    objects: Any
    gateway: subprocess.Popen[bytes]
    log: Path


s3_endpoint = gateway_conftest.s3_endpoint  # the gateway tests' moto S3 server fixture


@pytest.fixture(scope="module")
def stack(triton_server: Any, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The gateway service healthy by compose's own healthcheck command, beside its NATS and S3."""
    tmp_path = tmp_path_factory.mktemp("compose")
    model = interpolate(load("compose.yaml"), TEST_ENVIRON)
    service = model["services"]["gateway"]
    bucket = service["environment"]["GATEWAY_STORAGE_URL"].removeprefix("s3://")
    objects = make_bucket(s3_endpoint, bucket)
    port = free_port()
    with compose_nats(model["services"]["nats"], tmp_path / "nats") as (nats_url, monitor):
        environment = rewrite(
            {**image_environment(), **service["environment"]},
            {
                "triton:8001": triton_server.grpc_url,
                "nats://nats:4222": nats_url,
                "http://minio:9000": s3_endpoint,
                "0.0.0.0": "127.0.0.1",
                "/models": str(REPOSITORY),
            },
        )
        environment |= {"GATEWAY_PORT": str(port), "PATH": os.environ["PATH"], "GATEWAY_LOG_LEVEL": "WARNING"}
        log = tmp_path / "gateway.log"
        with log.open("wb") as output:
            gateway = subprocess.Popen(
                [sys.executable, "-m", "gateway"],
                cwd=tmp_path,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            healthcheck = [
                sys.executable if word == "python" else word.replace(":8080", f":{port}")
                for word in service["healthcheck"]["test"][1:]
            ]
            wait_until(
                lambda: subprocess.run(healthcheck, capture_output=True, timeout=10).returncode == 0,
                lambda: gateway.poll() is None,
                120,
                log.read_text,
            )
            api_key = environment["GATEWAY_API_KEYS"].split(",")[0]
            yield Stack(service, f"http://127.0.0.1:{port}", api_key, monitor, bucket, objects, gateway, log)
        finally:
            if gateway.poll() is None:
                gateway.kill()
                gateway.wait()


def test_the_compose_gateway_serves_a_job_through_nats_and_s3(stack: Stack) -> None:
    run_one_job(stack.url, stack.api_key)
    stored = {item["Key"].split("/")[0] for item in stack.objects.list_objects_v2(Bucket=stack.bucket)["Contents"]}
    assert {"originals", "results", "metadata", "jobs"} <= stored


def test_keda_finds_the_jetstream_consumers(stack: Stack) -> None:
    """The request KEDA's nats-jetstream scaler makes (pkg/scalers/nats_jetstream_scaler.go, v2.20)
    with deploy/keda's account, finds the stream and every consumer its triggers name."""
    triggers = [
        trigger["metadata"]
        for item in yaml.safe_load_all((ROOT / "deploy" / "keda" / "gateway-scaledobject.yaml").read_text())
        for trigger in item["spec"]["triggers"]
        if trigger["type"] == "nats-jetstream"
    ]
    (account,) = {trigger["account"] for trigger in triggers}
    query = f"acc={urllib.parse.quote(account)}&consumers=true&config=true"
    answer = http_json(f"http://127.0.0.1:{stack.nats_monitor}/jsz?{query}")
    (details,) = [detail for detail in answer["account_details"] if detail["name"] == account]
    streams = {stream["name"]: stream for stream in details["stream_detail"]}
    for trigger in triggers:
        consumers = {consumer["name"]: consumer for consumer in streams[trigger["stream"]]["consumer_detail"]}
        assert consumers[trigger["consumer"]]["num_pending"] == 0, "every job was taken and acknowledged"


def run_one_job(url: str, api_key: str) -> None:
    photo = io.BytesIO()
    Image.fromarray(photo_pixels("astronaut.png")).resize((256, 256)).save(photo, format="JPEG", quality=90)
    with httpx.Client(base_url=url, timeout=120, headers={"X-API-Key": api_key}) as client:
        assert (
            client.post("/v1/jobs", files={"file": ("a.jpg", b"\xff\xd8")}, headers={"X-API-Key": "wrong"}).status_code
            == 401
        )
        accepted = client.post("/v1/jobs", files={"file": ("astronaut.jpg", photo.getvalue(), "image/jpeg")})
        assert accepted.status_code == 202, accepted.text
        job = client.get(f"/v1/jobs/{accepted.json()['job_id']}", params={"wait": 60}).json()
        assert job["status"] == "succeeded", job
        result = client.get(f"/v1/jobs/{job['job_id']}/result")
        assert result.status_code == 200 and result.headers["content-type"] == "image/jpeg"
        assert job["metadata"]["faces"], "the astronaut's face was found (and blurred)"


# Queries that must return series once a job went through: each dashboard panel's first query
# but latency's (no synchronous call here), and the query Triton's autoscaling reads.
ANSWERED = (
    "panel Throughput A",
    "panel Success rate A",
    "panel Queue depth A",
    "panel Time per request by model A",
    "panel Queue time by model A",
    "panel Requests by model A",
    "keda triton triton-queue-time",
)


def test_prometheus_scrapes_the_services_and_every_query_answers(
    stack: Stack, triton_server: Any, tmp_path: Path
) -> None:
    """The real Prometheus (Debian's) with deploy/prometheus/prometheus.compose.yml, targets rewritten
    to the running gateway and Triton: both scraped, every alert rule evaluates without error, every
    dashboard and KEDA query parses and runs, and those that must show data show it."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not installed (Debian: apt-get install prometheus)")
    config = yaml.safe_load((PROMETHEUS / "prometheus.compose.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS / name) for name in config["rule_files"]]
    targets = {"gateway:8080": urlsplit(stack.url).netloc, "triton:8002": urlsplit(triton_server.metrics_url).netloc}
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [targets[target] for target in static["targets"]]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port, log = free_port(), tmp_path / "prometheus.log"
    with log.open("wb") as output:
        prometheus = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    api = f"http://127.0.0.1:{port}/api/v1"

    def query(expression: str) -> list[dict[str, Any]]:
        answer = http_json(f"{api}/query?{urllib.parse.urlencode({'query': expression})}")
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def scraped() -> bool:
        try:
            return sorted(item["value"][1] for item in query("up")) == ["1", "1"]
        except OSError:
            return False

    try:
        wait_until(scraped, lambda: prometheus.poll() is None, 60, log.read_text)
        run_one_job(stack.url, stack.api_key)  # counters that already exist grow while scraped
        # KEDA's query selects the Kubernetes namespace; compose's scrape config labels its targets `compose`.
        compose_namespace = config["scrape_configs"][0]["static_configs"][0]["labels"]["namespace"]
        results: dict[str, list[dict[str, Any]]] = {}

        def answered() -> bool:
            for where, expression in expressions().items():
                results[where] = query(
                    expression.replace('namespace="photo-anonymiser"', f'namespace="{compose_namespace}"')
                )
            return all(results[where] for where in ANSWERED)

        wait_until(answered, lambda: prometheus.poll() is None, 30, lambda: [w for w in ANSWERED if not results[w]])
        rules = [rule for group in http_json(f"{api}/rules")["data"]["groups"] for rule in group["rules"]]
        assert len(rules) == len(alert_rules()) and {rule["health"] for rule in rules} == {"ok"}, rules
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)


def test_sigterm_stops_the_gateway_cleanly(stack: Stack) -> None:
    """What `docker compose stop` sends; within the service's stop_grace_period (last: it ends the stack)."""
    stack.gateway.send_signal(signal.SIGTERM)
    assert stack.gateway.wait(timeout=int(stack.service["stop_grace_period"].removesuffix("s"))) == 0, (
        stack.log.read_text()
    )
