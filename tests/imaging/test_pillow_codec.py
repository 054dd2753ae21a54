from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imaging.codec import ImageDecoder
from imaging.errors import CorruptImageError
from imaging.fidelity import SampleRangeError
from imaging.formats import sniff_format
from imaging.options import EncodeOptions
from imaging.pillow_codec import decode_pillow, encode_pillow, jpeg2000_psnr, to_rgb
from tests.imaging.conftest import pillow_bytes
from tests.photos import photo_bytes, photo_pixels


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "coffee.png", "goodstuff.j2k"])
def test_decode_equals_reference(name: str) -> None:
    data = photo_bytes(name)
    np.testing.assert_array_equal(decode_pillow(data, sniff_format(data)), photo_pixels(name))


def test_truncated_data_raises() -> None:
    data = photo_bytes("grace_hopper.jpg")
    with pytest.raises(CorruptImageError, match="jpeg data is truncated or corrupt"):
        decode_pillow(data[: len(data) // 2], "jpeg")


def test_16_bit_samples_are_scaled_not_clipped() -> None:
    wide = np.array([[0, 255, 256, 32768, 65535]], dtype=np.uint16)
    pixels = to_rgb(Image.fromarray(wide))
    np.testing.assert_array_equal(pixels[0, :, 0], [0, 0, 1, 128, 255])
    assert pixels.shape == (1, 5, 3) and pixels.flags.c_contiguous


def test_32_bit_integers_in_the_16_bit_range_are_scaled_and_beyond_it_refused() -> None:
    wide = np.array([[0, 256, 65535]], dtype=np.int32)
    np.testing.assert_array_equal(to_rgb(Image.fromarray(wide))[0, :, 0], [0, 1, 255])
    with pytest.raises(SampleRangeError, match="range -5 to 70000"):  # clipping would be another picture
        to_rgb(Image.fromarray(np.array([[-5, 0, 65535, 70000]], dtype=np.int32)))


def test_16_bit_tiff_goes_through_pillow_and_is_scaled(decoder: ImageDecoder) -> None:
    gray = photo_pixels("astronaut.png")[..., 1]
    decoded = decoder.decode(pillow_bytes(gray.astype(np.uint16) * 257, "TIFF"))
    assert decoded.backend == "pillow"
    np.testing.assert_array_equal(decoded.pixels, np.repeat(gray[..., None], 3, axis=2))


@pytest.mark.parametrize("mode", ["L", "LA", "1", "CMYK", "RGBA", "P", "PA", "I"])
def test_every_mode_becomes_rgb(mode: str) -> None:
    image = Image.fromarray(photo_pixels("coffee.png")).convert(mode)
    pixels = to_rgb(image)
    assert pixels.shape == (400, 600, 3) and pixels.dtype == np.uint8 and pixels.flags.c_contiguous


def test_j2k_is_a_raw_codestream() -> None:
    data = encode_pillow(photo_pixels("coffee.png"), EncodeOptions("j2k", compression_ratio=30))
    assert data[:4] == b"\xff\x4f\xff\x51"
    assert sniff_format(data) == "j2k"


def test_jpeg2000_quality_maps_to_a_psnr_target() -> None:
    assert jpeg2000_psnr(1) == pytest.approx(24.2)
    assert jpeg2000_psnr(90) == pytest.approx(42.0)
    sizes = [
        len(encode_pillow(photo_pixels("coffee.png"), EncodeOptions("jp2", quality=quality)))
        for quality in (20, 60, 95)
    ]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff"])
def test_encode_every_format(fmt: str) -> None:
    pixels = photo_pixels("coffee.png")
    data = encode_pillow(pixels, EncodeOptions(fmt))
    assert sniff_format(data) == fmt
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (600, 400)
