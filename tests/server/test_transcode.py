"""The `transcode` model on the real tritonserver: JPEG 2000 encode and decode jobs, no detection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from imaging.codec import ImageDecoder
from imaging.jpeg2000_header import read_header
from tests.photos import photo_bytes, photo_pixels
from tests.server.client import image_input, outputs, reply_metadata

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


def run_transcode(client: grpcclient.InferenceServerClient, payloads: list[bytes], **parameters: Any) -> list[tuple[bytes, dict[str, Any]]]:
    reply = client.infer("transcode", [image_input(payloads)], outputs=outputs(), parameters=parameters or None, priority=1)
    results, metadata = reply.as_numpy("RESULT").reshape(-1), reply_metadata("transcode", reply)
    return [(bytes(result), meta) for result, meta in zip(results, metadata, strict=True)]


def test_encode_job_lossless_jp2_is_bit_exact(client: grpcclient.InferenceServerClient) -> None:
    [(jp2, metadata)] = run_transcode(client, [photo_bytes("astronaut.png")], format="jp2", lossless=True, tile_size="256", resolutions=4)
    header = read_header(jp2)
    assert (header.reversible, header.tiles, header.levels) == (True, 4, 3)
    assert metadata["encoder"] == "pillow" and metadata["versions"] == {"transcode": "1"}
    np.testing.assert_array_equal(ImageDecoder(device="cpu").decode(jp2).pixels, photo_pixels("astronaut.png"))


def test_decode_job_with_reduced_resolution_and_a_batch(client: grpcclient.InferenceServerClient) -> None:
    answers = run_transcode(client, [photo_bytes("nemo.jp2"), photo_bytes("goodstuff.j2k")], format="png", reduce=1)
    assert [(meta["width"], meta["height"]) for _, meta in answers] == [(1296, 728), (240, 400)]
    assert all(meta["output"]["format"] == "png" for _, meta in answers)


def test_16_bit_gray_stays_16_bit(client: grpcclient.InferenceServerClient) -> None:
    from tests.imaging.conftest import pillow_bytes

    gray = photo_pixels("astronaut.png")[..., 0].astype(np.uint16) * 257
    [(jp2, metadata)] = run_transcode(client, [pillow_bytes(gray, "PNG")], format="j2k", lossless=True)
    assert (metadata["bits"], metadata["output"]["bits"], read_header(jp2).bits) == (16, 16, 16)
    np.testing.assert_array_equal(ImageDecoder(device="cpu").decode_native(jp2).pixels[..., 0], gray)


@pytest.mark.parametrize(("payload", "parameters", "named"), [
    (photo_bytes("nemo.jp2")[:3000], {}, "corrupt_image"),
    (photo_bytes("nemo.jp2"), {"reduce": 4}, "invalid_option.*reduce=4"),
    (photo_bytes("zidane.jpg"), {"format": "jp2", "psnr": 3}, "invalid_option.*psnr"),
])
def test_errors_are_named(client: grpcclient.InferenceServerClient, payload: bytes, parameters: dict, named: str) -> None:
    with pytest.raises(InferenceServerException, match=named):
        run_transcode(client, [payload], **parameters)
