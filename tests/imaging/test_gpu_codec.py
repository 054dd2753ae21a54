"""The GPU-resident path: nvImageCodec batch decode -> torch (DLPack) -> blur -> nvJPEG encode.

Only the refusal without a GPU runs here; the rest is `gpu`-marked (README "GPU hosts")."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from imaging.codec import ImageDecoder, ImageEncoder
from imaging.errors import CorruptImageError, DeviceUnavailableError, InvalidOptionError, UnsupportedFormatError
from imaging.options import EncodeOptions
from tests.photos import photo_pixels

PHOTOS = ("grace_hopper.jpg", "astronaut.png")


def psnr(ours: np.ndarray, theirs: np.ndarray) -> float:
    error = np.mean((ours.astype(np.float64) - theirs.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


def encoded(fmt: str) -> list[bytes]:
    encoder = ImageEncoder(device="cpu")
    options = EncodeOptions("jpeg", quality=92) if fmt == "jpeg" else EncodeOptions("jp2", compression_ratio=20)
    return [encoder.encode(photo_pixels(name), options) for name in PHOTOS]


def test_without_a_gpu_the_codec_refuses_to_start() -> None:
    from imaging.gpu_codec import GpuCodec

    try:
        GpuCodec()
    except DeviceUnavailableError as error:
        assert "nvImageCodec cannot use a GPU" in str(error)
        return
    pytest.skip("a GPU is present: the gpu-marked tests below cover it")


@pytest.fixture(scope="module")
def codec() -> object:
    """imaging.gpu_codec.GpuCodec, built only where a gpu-marked test runs."""
    from imaging.gpu_codec import GpuCodec

    return GpuCodec()


@pytest.mark.gpu
@pytest.mark.parametrize(("fmt", "min_psnr"), [("jpeg", 35.0), ("jp2", 45.0)])
def test_batch_decode_on_the_gpu_matches_the_cpu_decode(codec, fmt: str, min_psnr: float) -> None:
    payloads = encoded(fmt)
    tensors = codec.decode(payloads)
    cpu = ImageDecoder(device="cpu")
    assert len(tensors) == len(payloads)
    for tensor, payload in zip(tensors, payloads, strict=True):
        assert tensor.is_cuda and tensor.dtype == torch.uint8
        expected = cpu.decode(payload).pixels
        assert tuple(tensor.shape) == expected.shape
        assert psnr(tensor.cpu().numpy(), expected) > min_psnr


@pytest.mark.gpu
def test_anonymise_batch_blurs_the_boxes_and_keeps_the_rest(codec) -> None:
    from imaging.gpu_codec import anonymise_batch

    payloads = encoded("jpeg")
    boxes = [np.array([[100, 100, 300, 300]], np.float32), np.array([[150, 50, 350, 250]], np.float32)]
    results = anonymise_batch(codec, payloads, boxes, EncodeOptions("jpeg", quality=92))
    decoder = ImageDecoder(device="cpu")
    for result, payload, (x1, y1, x2, y2) in zip(results, payloads, (box[0].astype(int) for box in boxes), strict=True):
        with Image.open(io.BytesIO(result)) as image:
            assert image.format == "JPEG"
            output = np.asarray(image.convert("RGB"))
        original = decoder.decode(payload).pixels
        outside = original.copy(), output.copy()
        outside[0][y1:y2, x1:x2] = outside[1][y1:y2, x1:x2] = 0
        assert psnr(outside[1], outside[0]) > 33  # a JPEG round trip outside the box
        assert psnr(output[y1:y2, x1:x2], original[y1:y2, x1:x2]) < 28  # blurred inside it


@pytest.mark.gpu
def test_refusals_name_the_image(codec) -> None:
    png = io.BytesIO()
    Image.fromarray(photo_pixels("astronaut.png")).save(png, format="PNG")
    jpeg = encoded("jpeg")[0]
    with pytest.raises(UnsupportedFormatError, match="image 1: the GPU path decodes"):
        codec.decode([jpeg, png.getvalue()])
    with pytest.raises(CorruptImageError):
        codec.decode([jpeg[: len(jpeg) // 3]])
    with pytest.raises(InvalidOptionError, match="the GPU path encodes .'jpeg'., got 'webp'"):
        codec.encode(codec.decode([jpeg]), EncodeOptions("webp"))
