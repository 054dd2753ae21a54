"""Decode faithfully or refuse, over real HTTP through the gateway in front of the real Triton:
the subsampled JPEG 2000 comes back anonymised, several frames are a 415 naming the count, float
samples outside 0.0-1.0 a 415 naming the range."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPOSITORY
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.imaging.conftest import pillow_bytes
from tests.photos import photo_pixels
from tests.subsampled_jp2 import subsampled_jpeg2000

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any) -> RunningGateway:
    return gateway_factory(triton_url=triton_server.grpc_url, model_repository=REPOSITORY)


def test_subsampled_jpeg2000_comes_back_anonymised(gateway: RunningGateway) -> None:
    astronaut = photo_pixels("astronaut.png")
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("a.jp2", subsampled_jpeg2000(astronaut))}, data={"format": "png"})
    assert reply.status_code == 200, reply.text
    metadata = json.loads(reply.headers["X-Metadata"])
    assert (metadata["decoder"], metadata["width"], metadata["height"]) == ("openjpeg", 512, 512)
    faces = [region["box"] for region in metadata["blurred"] if region["source"] == "face"]
    assert faces
    result = np.asarray(Image.open(io.BytesIO(reply.content)).convert("RGB")).astype(int)
    for x1, y1, x2, y2 in ([int(value) for value in box] for box in faces):
        assert np.abs(result[y1:y2, x1:x2] - astronaut[y1:y2, x1:x2]).mean() > 3


def test_an_animated_webp_is_a_415_naming_the_frames(gateway: RunningGateway) -> None:
    frames = [Image.fromarray(np.full((32, 32, 3), value, np.uint8)) for value in (0, 80, 160)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], lossless=True)
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("a.webp", buffer.getvalue())})
    assert reply.status_code == 415, reply.text
    assert reply.json()["error"] == "unsupported_format" and "animated WebP with 3 frames" in reply.json()["detail"]


def test_an_animated_png_job_is_refused_at_upload_and_nothing_is_stored(gateway: RunningGateway) -> None:
    """The upload check calls decode's frame check: a job that could only fail later is never accepted."""
    frames = [Image.fromarray(np.full((32, 32, 3), value, np.uint8)) for value in (0, 80, 160, 240)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    with gateway.client() as client:
        before = client.get("/v1/stats").json()
        reply = client.post("/v1/jobs", files={"file": ("a.png", buffer.getvalue())})
        batch = client.post("/v1/jobs/batch", files=[("files", ("b.png", buffer.getvalue()))])
        after = client.get("/v1/stats").json()
    for answer in (reply, batch):
        assert answer.status_code == 415, answer.text
        assert "animated PNG (APNG) with 4 frames" in answer.json()["detail"]
    assert after["jobs"] == before["jobs"], "no job accepted"


def test_float_counts_are_a_415_naming_the_range(gateway: RunningGateway) -> None:
    counts = np.linspace(0, 4095, 64 * 64, dtype=np.float32).reshape(64, 64)
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("f.tif", pillow_bytes(Image.fromarray(counts, "F"), "TIFF"))})
    assert reply.status_code == 415, reply.text
    assert "range 0 to 4095" in reply.json()["detail"]
