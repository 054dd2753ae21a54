"""The gateway's decode / encode operations and operation chains, over HTTP, against the real Triton."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from imaging.codec import ImageDecoder
from imaging.formats import sniff_format
from imaging.jpeg2000_header import read_header
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.photos import photo_bytes, photo_pixels

pytestmark = pytest.mark.server

TILES = json.dumps([{"op": "resize", "scale": 0.5}, {"op": "anonymize"}, {"op": "tile", "rows": 2, "cols": 2, "overlap": 8}])


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any) -> RunningGateway:
    return gateway_factory(triton_url=triton_server.grpc_url, max_in_flight=8, workers=2)


def finished_job(client: httpx.Client, name: str, **fields: str) -> dict[str, Any]:
    created = client.post("/v1/jobs", files={"file": (name, photo_bytes(name))}, data=fields)
    assert created.status_code == 202, created.text
    job = client.get(created.json()["status_url"], params={"wait": 60}).json()
    assert job["status"] == "succeeded", job
    return job


def test_encode_job_writes_lossless_jpeg2000(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        job = finished_job(client, "astronaut.png", operation="encode", options='{"lossless": true, "resolutions": 4}', priority="low")
        result = client.get(job["result_url"])
    assert job["model"] == "transcode" and result.headers["content-type"] == "image/jp2"
    assert read_header(result.content).levels == 3 and job["metadata"]["encoder"] == "pillow"
    np.testing.assert_array_equal(ImageDecoder(device="cpu").decode(result.content).pixels, photo_pixels("astronaut.png"))


def test_decode_job_gives_a_reduced_png_preview(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        job = finished_job(client, "nemo.jp2", operation="decode", options='{"reduce": 1}')
        result = client.get(job["result_url"])
    assert sniff_format(result.content) == "png"
    assert (job["metadata"]["width"], job["metadata"]["height"]) == (1296, 728)


def test_chain_job_stores_each_tile_and_a_zip(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        job = finished_job(client, "zidane.jpg", operations=TILES, format="png")
        result = client.get(job["result_url"])
    assert job["model"] == "process" and len(job["outputs"]) == 4
    assert result.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(result.content)) as archive:
        names = archive.namelist()
        tiles = [archive.read(name) for name in names[:4]]
    assert names == ["000-r0c0.png", "001-r0c1.png", "002-r1c0.png", "003-r1c1.png", "metadata.json"]
    for stored, described, data in zip(job["outputs"], job["metadata"]["outputs"], tiles, strict=True):
        assert Path(stored["location"].removeprefix("file://")).read_bytes() == data
        assert described["object"]["key"] == stored["key"]
    faces = sum(len(output["anonymized"][0]["faces"]) for output in job["metadata"]["outputs"])
    assert faces >= 2  # a face on a tile border is seen by both tiles that hold part of it


def test_sync_chain_answers_a_zip_and_a_bad_step_is_named(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("coffee.png", photo_bytes("coffee.png"))}, data={"operations": TILES})
        bad = client.post("/v1/process", files={"file": ("coffee.png", photo_bytes("coffee.png"))},
                          data={"operations": '[{"op": "rotate", "angle": 90}, {"op": "twirl"}]'})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/zip"
    assert json.loads(reply.headers["X-Metadata"])["output"]["count"] == 4
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_option")
    assert "operations step 2: unknown operation 'twirl'" in bad.json()["detail"]


def test_sync_chain_with_metadata_links_the_stored_zip(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        body = client.post("/v1/process?include=metadata", files={"file": ("coffee.png", photo_bytes("coffee.png"))},
                           data={"operations": TILES}).json()
        result = client.get(body["result_url"])
    assert body["content_type"] == result.headers["content-type"] == "application/zip"
    assert [output["object"]["key"].rsplit("/", 1)[-1] for output in body["metadata"]["outputs"]] == [
        "000-r0c0.png", "001-r0c1.png", "002-r1c0.png", "003-r1c1.png"]
