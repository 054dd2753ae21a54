"""PNG previews of JPEG 2000 and TIFF (which browsers cannot show): the reduce choice and the
8-bit shrink as pure functions, then ``GET /v1/jobs/{id}/preview`` over real HTTP in front of the
real Triton, compared with Pillow's own decode of the same files."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from gateway.web.previews import preview_reduce, shrink_png
from tests.conftest import REPOSITORY
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.imaging.conftest import pillow_bytes
from tests.photos import photo_bytes, photo_pixels


def gradient(width: int, height: int) -> np.ndarray:
    across = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    down = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    return np.concatenate([np.broadcast_to(across, (height, width, 1)), np.broadcast_to(down, (height, width, 1)),
                           np.full((height, width, 1), 128, np.float32)], axis=2).astype(np.uint8)


@pytest.mark.parametrize(("resolutions", "size", "halvings"), [(6, 256, 2), (6, 600, 1), (6, 601, 0), (2, 64, 1)])
def test_jpeg2000_is_reduced_while_the_long_side_stays_at_least_the_size(resolutions: int, size: int, halvings: int) -> None:
    jp2 = pillow_bytes(gradient(1200, 800), "JPEG2000", num_resolutions=resolutions)
    assert preview_reduce(jp2, size) == halvings  # 1200 -> 600 -> 300 -> 150; 2 resolutions = 1 halving at most


def test_other_formats_are_never_reduced() -> None:
    assert preview_reduce(pillow_bytes(gradient(1200, 800), "TIFF"), 64) == 0


def test_sixteen_bit_gray_is_scaled_to_eight_bits_not_clipped() -> None:
    samples = (np.arange(256, dtype=np.uint32) * 257).astype(np.uint16).reshape(16, 16)
    with Image.open(io.BytesIO(shrink_png(pillow_bytes(Image.fromarray(samples), "PNG"), 64))) as preview:
        assert (preview.mode, preview.size) == ("L", (16, 16))  # never enlarged
        assert np.array_equal(np.asarray(preview), np.arange(256, dtype=np.uint8).reshape(16, 16))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA"])
def test_the_longest_side_is_bounded_and_the_aspect_kept(mode: str) -> None:
    picture = Image.fromarray(gradient(1200, 400)).convert(mode)
    with Image.open(io.BytesIO(shrink_png(pillow_bytes(picture, "PNG"), 300))) as preview:
        assert (preview.mode, preview.size) == (mode, (300, 100))


# Through the gateway and Triton.

def wait_for(client: Any, job_id: str) -> dict[str, Any]:
    job = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()
    assert job["status"] == "succeeded", job
    return job


def submit(client: Any, name: str, payload: bytes, **fields: str) -> str:
    reply = client.post("/v1/jobs", files={"file": (name, payload)}, data=fields)
    assert reply.status_code == 202, reply.text
    return str(reply.json()["job_id"])


def preview(client: Any, job_id: str, of: str, size: int) -> Image.Image:
    reply = client.get(f"/v1/jobs/{job_id}/preview", params={"of": of, "size": size})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(reply.content))
    image.load()
    return image


def resized(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS)).astype(int)


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any) -> RunningGateway:
    return gateway_factory(triton_url=triton_server.grpc_url, model_repository=REPOSITORY)


@pytest.mark.server
def test_jpeg2000_original_and_result_previews_match_the_files(gateway: RunningGateway) -> None:
    astronaut = photo_pixels("astronaut.png")
    with gateway.client() as client:
        job_id = submit(client, "astronaut.jp2", pillow_bytes(astronaut, "JPEG2000", irreversible=False))
        wait_for(client, job_id)
        result = Image.open(io.BytesIO(client.get(f"/v1/jobs/{job_id}/result").content)).convert("RGB")
        shown = {of: preview(client, job_id, of, 200) for of in ("original", "result")}
    assert {image.size for image in shown.values()} == {(200, 200)} and {image.mode for image in shown.values()} == {"RGB"}
    expected = {"original": resized(Image.fromarray(astronaut), (200, 200)), "result": resized(result, (200, 200))}
    for of, image in shown.items():
        assert np.abs(np.asarray(image).astype(int) - expected[of]).mean() < 4, of
    assert np.abs(expected["original"] - expected["result"]).mean() > 1  # the face was blurred: two different previews


@pytest.mark.server
def test_sixteen_bit_gray_tiff_previews_as_eight_bit_gray(gateway: RunningGateway) -> None:
    gray = np.asarray(Image.open(io.BytesIO(photo_bytes("grace_hopper.jpg"))).convert("L"))
    tiff = pillow_bytes(Image.fromarray(gray.astype(np.uint16) * 257), "TIFF")
    with gateway.client() as client:
        job_id = submit(client, "grace.tif", tiff)
        job = wait_for(client, job_id)
        image = preview(client, job_id, "original", 256)
        result = preview(client, job_id, "result", 256)
    assert job["result"]["content_type"] == "image/tiff"
    height, width = gray.shape
    assert (image.mode, image.size) == ("L", (round(256 * width / height), 256))  # portrait: 512x600
    assert np.abs(np.asarray(image).astype(int) - resized(Image.fromarray(gray), image.size)).mean() < 2
    assert result.mode in ("L", "RGB") and result.size == image.size  # the pipeline may answer gray as RGB
    assert abs(np.asarray(result.convert("L")).mean() - np.asarray(image).mean()) < 3  # as bright (not 1/256 of it); face blurred


@pytest.mark.server
def test_preview_errors_are_named(gateway: RunningGateway, gateway_factory: GatewayFactory, triton_server: Any) -> None:
    forgetful = gateway_factory(triton_url=triton_server.grpc_url, model_repository=REPOSITORY, keep_originals_s=0)
    with gateway.client() as client, forgetful.client() as other:
        unknown = client.get(f"/v1/jobs/{'0' * 32}/preview")
        job_id = submit(other, "zidane.jpg", photo_bytes("zidane.jpg"))
        wait_for(other, job_id)
        gone = other.get(f"/v1/jobs/{job_id}/preview", params={"of": "original"})
        kept = other.get(f"/v1/jobs/{job_id}/preview", params={"of": "result", "size": 64})
        too_big = other.get(f"/v1/jobs/{job_id}/preview", params={"size": 5000})
        neither = other.get(f"/v1/jobs/{job_id}/preview", params={"of": "metadata"})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "job_not_found")
    assert (gone.status_code, gone.json()["error"]) == (404, "source_not_found"), gone.text
    assert "no longer stored" in gone.json()["detail"]
    assert kept.status_code == 200 and Image.open(io.BytesIO(kept.content)).size == (64, 36)
    assert (too_big.status_code, too_big.json()["error"]) == (422, "invalid_request") and "size" in too_big.json()["detail"]
    assert (neither.status_code, neither.json()["error"]) == (422, "invalid_request") and "of" in neither.json()["detail"]


@pytest.mark.server
def test_a_result_of_several_outputs_is_previewed_one_output_at_a_time(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        job_id = submit(client, "bus.jpg", photo_bytes("bus.jpg"), operations='[{"op": "tile", "rows": 2, "cols": 1}]')
        job = wait_for(client, job_id)
        whole = client.get(f"/v1/jobs/{job_id}/preview")
        tiles = [preview_output(client, job_id, index) for index in (0, 1)]
        past = client.get(f"/v1/jobs/{job_id}/preview", params={"output": 2})
        original = client.get(f"/v1/jobs/{job_id}/preview", params={"of": "original", "output": 0})
    assert len(job["outputs"]) == 2
    assert (whole.status_code, whole.json()["error"]) == (415, "unsupported_format")
    assert "output=0 to 1" in whole.json()["detail"]
    width, height = Image.open(io.BytesIO(photo_bytes("bus.jpg"))).size  # 810x1080: two 810x540 tiles
    assert [tile.size for tile in tiles] == [(width, height // 2)] * 2
    assert np.abs(np.asarray(tiles[0]).astype(int) - np.asarray(tiles[1]).astype(int)).mean() > 5  # two different halves
    assert (past.status_code, past.json()["error"]) == (422, "invalid_request") and "2 output(s)" in past.json()["detail"]
    assert (original.status_code, original.json()["error"]) == (422, "invalid_request")


def preview_output(client: Any, job_id: str, output: int) -> Image.Image:
    reply = client.get(f"/v1/jobs/{job_id}/preview", params={"output": output, "size": 2048})
    assert reply.status_code == 200, reply.text
    image = Image.open(io.BytesIO(reply.content))
    image.load()
    return image
