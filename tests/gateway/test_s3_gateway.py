"""The gateway storing in S3 (moto's server on loopback) and reading / writing s3:// objects."""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import pytest
from PIL import Image

from gateway.storage.s3 import make_s3_client
from tests.gateway.conftest import GatewayFactory, RunningGateway, make_bucket
from tests.gateway.images import assert_blurred, decode
from tests.photos import photo_bytes, photo_pixels

pytestmark = pytest.mark.server

PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def buckets(s3_endpoint: str) -> dict[str, str]:
    names = {"store": f"gateway-{os.urandom(3).hex()}", "inputs": f"photos-{os.urandom(3).hex()}"}
    for name in names.values():
        make_bucket(s3_endpoint, name)
    return names


@pytest.fixture(scope="module")
def s3_client(s3_endpoint: str) -> Any:
    client = make_s3_client(s3_endpoint, "us-east-1")
    yield client
    client.close()


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any, s3_endpoint: str, buckets: dict[str, str]) -> RunningGateway:
    return gateway_factory(
        f"s3://{buckets['store']}/service", triton_url=triton_server.grpc_url, s3_endpoint_url=s3_endpoint,
        allowed_buckets=[buckets["inputs"]], multipart_threshold_bytes=PART,
    )


def keys(client: Any, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def test_object_job_reads_and_writes_allowed_buckets(gateway: RunningGateway, s3_client: Any, buckets: dict[str, str]) -> None:
    inputs = buckets["inputs"]
    s3_client.put_object(Bucket=inputs, Key="in/zidane.jpg", Body=photo_bytes("zidane.jpg"))
    body = {"input_image": f"s3://{inputs}/in/zidane.jpg", "output_image": f"s3://{inputs}/out/zidane.jpg",
            "operation": "pixelate", "priority": "high"}
    with gateway.client() as client:
        created = client.post("/v1/jobs", json=body)
        assert created.status_code == 202, created.text
        job = client.get(created.json()["status_url"], params={"wait": 60}).json()
    assert job["status"] == "succeeded", job
    assert job["source"] == body["input_image"] and job["metadata"]["blur"]["kind"] == "pixelate"
    written = s3_client.get_object(Bucket=inputs, Key="out/zidane.jpg")
    assert written["ContentType"] == "image/jpeg"
    assert_blurred(photo_pixels("zidane.jpg"), decode(written["Body"].read()), [f["box"] for f in job["metadata"]["faces"]])
    job_id = job["job_id"]
    stored = set(keys(s3_client, buckets["store"], "service/"))
    assert {f"service/originals/{job_id}.jpg", f"service/results/{job_id}.jpg", f"service/metadata/{job_id}.json",
            f"service/jobs/{job_id}.json"} <= stored
    assert job["result"]["location"] == f"s3://{buckets['store']}/service/results/{job_id}.jpg"
    assert not [key for key in stored if key.startswith("service/pending/")]


def test_missing_object_is_named(gateway: RunningGateway, buckets: dict[str, str]) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/jobs", json={"input_image": f"s3://{buckets['inputs']}/nothing.jpg"})
    assert (reply.status_code, reply.json()["error"]) == (404, "source_not_found")


def test_large_upload_goes_up_in_parts(gateway: RunningGateway, s3_client: Any, buckets: dict[str, str]) -> None:
    noise = np.random.default_rng(0).integers(0, 256, size=(1400, 1400, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG", compress_level=0)
    payload = buffer.getvalue()
    assert len(payload) > PART
    with gateway.client() as client:
        created = client.post("/v1/jobs", files={"file": ("noise.png", payload)}, data={"format": "jpeg"})
        assert created.status_code == 202, created.text
        job = client.get(created.json()["status_url"], params={"wait": 60}).json()
        result = client.get(job["result_url"])
    head = s3_client.head_object(Bucket=buckets["store"], Key=f"service/originals/{job['job_id']}.png")
    assert head["ContentType"] == "image/png" and head["ContentLength"] == len(payload)
    assert head["ETag"].strip('"').endswith("-2"), "stored with a multipart upload"
    assert job["status"] == "succeeded" and result.headers["content-type"] == "image/jpeg"
