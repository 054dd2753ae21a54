"""Decode faithfully or refuse, through the real tritonserver `pipeline` and `transcode`.

The inputs are the issue's: a subsampled JPEG 2000 (the face went out sharp with 200 on main),
animated / multi-page files (first frame only, silently), a palette PNG with tRNS (magenta
background), a float TIFF (all black), a Display P3 photo (desaturated).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from PIL import Image, ImageCms
from tritonclient.utils import InferenceServerException

from tests.imaging.conftest import pillow_bytes
from tests.imaging.icc import display_p3
from tests.photos import photo_pixels
from tests.server.client import image_input, outputs, reply_metadata, run_pipeline
from tests.subsampled_jp2 import subsampled_jpeg2000

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return photo_pixels("astronaut.png")


def rgba(result: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(result)) as image:
        return np.asarray(image.convert("RGBA"))


def blurred_mask(shape: tuple[int, ...], metadata: dict, grow: int = 0) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=bool)
    for region in metadata["blurred"]:
        x1, y1, x2, y2 = (int(value) for value in region["box"])
        mask[max(0, y1 - grow) : y2 + grow + 1, max(0, x1 - grow) : x2 + grow + 1] = True
    return mask


def assert_face_blurred_rest_kept(result: bytes, metadata: dict, original: np.ndarray, far_tolerance: int) -> None:
    processed = rgba(result)[:, :, :3]
    assert processed.shape == original.shape
    difference = np.abs(processed.astype(np.int16) - original.astype(np.int16)).max(axis=2)
    faces = [region for region in metadata["blurred"] if region["source"] == "face"]
    assert faces, "no face blurred"
    for region in faces:
        x1, y1, x2, y2 = (int(value) for value in region["box"])
        assert difference[y1:y2, x1:x2].mean() > 3, f"face at {region['box']} not blurred"
    assert difference[~blurred_mask(original.shape, metadata, grow=32)].max() <= far_tolerance


@pytest.mark.parametrize("suffix", [".jp2", ".j2k"])
def test_subsampled_jpeg2000_face_is_blurred(client: grpcclient.InferenceServerClient, astronaut: np.ndarray, suffix: str) -> None:
    [(result, metadata)] = run_pipeline(client, [subsampled_jpeg2000(astronaut, suffix)], format="png")
    assert (metadata["width"], metadata["height"], metadata["decoder"]) == (512, 512, "openjpeg")
    assert_face_blurred_rest_kept(result, metadata, astronaut, far_tolerance=0)


def refusal(client: grpcclient.InferenceServerClient, data: bytes, model: str = "pipeline") -> str:
    with pytest.raises(InferenceServerException) as caught:
        client.infer(model, [image_input([data])], outputs=outputs())
    assert "INVALID_ARG" in str(caught.value.status())
    return str(caught.value.message())


@pytest.mark.parametrize(("pillow_format", "words"), [("WEBP", "animated WebP with 2 frames"), ("PNG", "animated PNG (APNG) with 2 frames"), ("TIFF", "multi-page TIFF with 2 pages")])
def test_several_frames_are_refused_naming_the_count(
    client: grpcclient.InferenceServerClient, astronaut: np.ndarray, pillow_format: str, words: str
) -> None:
    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format=pillow_format, save_all=True, append_images=[Image.fromarray(astronaut[::-1].copy())])
    for model in ("pipeline", "transcode"):
        message = refusal(client, buffer.getvalue(), model)
        assert f"unsupported_format: an {words}" in message or f"unsupported_format: a {words}" in message
    [(_, metadata)] = run_pipeline(client, [pillow_bytes(astronaut, pillow_format)])
    assert metadata["frames"] == 1  # the server is still up, a single frame goes through


def test_palette_transparency_survives_the_pipeline(client: grpcclient.InferenceServerClient, astronaut: np.ndarray) -> None:
    indices = np.zeros((96, 128), np.uint8)
    indices[24:72, 32:96] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 255, 10, 200, 10] + [0] * 762)
    palette_png = pillow_bytes(image, "PNG", transparency=0)
    # one request, two images: the alpha batch is padded around the one without alpha
    [(result, metadata), (_, plain)] = run_pipeline(client, [palette_png, pillow_bytes(astronaut, "PNG")])
    assert (metadata["alpha"], metadata["output"]["alpha"], plain["alpha"], plain["output"]["alpha"]) == (True, True, False, False)
    output = rgba(result)
    np.testing.assert_array_equal(output[:, :, 3], np.where(indices == 1, 255, 0))
    np.testing.assert_array_equal(output[48, 64], [10, 200, 10, 255])
    [(jpeg, metadata)] = run_pipeline(client, [palette_png], format="jpeg")
    assert metadata["output"]["alpha"] is False and rgba(jpeg).shape == (96, 128, 4)


def test_display_p3_is_converted_to_srgb(client: grpcclient.InferenceServerClient, astronaut: np.ndarray) -> None:
    profile = display_p3()
    to_p3 = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(profile)), "RGB", "RGB")
    p3 = np.asarray(ImageCms.applyTransform(Image.fromarray(astronaut), to_p3))
    [(result, metadata)] = run_pipeline(client, [pillow_bytes(p3, "PNG", icc_profile=profile)])
    assert metadata["color"] == {"icc": "Display P3", "converted_to": "sRGB"}
    outside = ~blurred_mask(astronaut.shape, metadata, grow=32)
    difference = np.abs(rgba(result)[:, :, :3].astype(int) - astronaut)
    assert difference[outside].mean() < 0.2  # the sRGB picture, not the P3 numbers (mean 4.8 away)


def test_float_tiff_scaled_or_refused(client: grpcclient.InferenceServerClient, astronaut: np.ndarray) -> None:
    gray = astronaut[:, :, 1]
    unit = pillow_bytes(Image.fromarray((gray / 255.0).astype(np.float32), "F"), "TIFF")
    [(result, metadata)] = run_pipeline(client, [unit], format="png")
    original = np.repeat(gray[:, :, None], 3, axis=2)
    assert_face_blurred_rest_kept(result, metadata, original, far_tolerance=0)
    counts = pillow_bytes(Image.fromarray(gray.astype(np.float32), "F"), "TIFF")
    message = refusal(client, counts)
    assert "unsupported_format: floating-point samples must lie in 0.0-1.0" in message


def test_transcode_keeps_palette_alpha(client: grpcclient.InferenceServerClient) -> None:
    indices = np.eye(16, dtype=np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 255, 10, 200, 10] + [0] * 762)
    reply = client.infer("transcode", [image_input([pillow_bytes(image, "PNG", transparency=0)])], outputs=outputs(), parameters={"format": "png"})
    [metadata] = reply_metadata("transcode", reply)
    assert metadata["output"]["channels"] == 4
    np.testing.assert_array_equal(rgba(bytes(reply.as_numpy("RESULT")[0, 0]))[:, :, 3], indices * 255)
