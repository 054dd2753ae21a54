"""Native-depth decode and encode (transcoding): nothing is normalised to 8-bit RGB."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imaging.codec import EncodeOptions, ImageDecoder, ImageEncoder
from imaging.errors import InvalidArrayError, InvalidOptionError
from imaging.native import fit_to_format, pillow_to_native, require_native
from tests.imaging.conftest import pillow_bytes
from tests.photos import photo_bytes, photo_pixels


@pytest.mark.parametrize(("mode", "shape", "dtype"), [
    ("L", (400, 600, 1), np.uint8), ("LA", (400, 600, 2), np.uint8), ("RGBA", (400, 600, 4), np.uint8),
    ("1", (400, 600, 1), np.uint8), ("P", (400, 600, 3), np.uint8), ("CMYK", (400, 600, 3), np.uint8),
    ("I;16", (400, 600, 1), np.uint16), ("I", (400, 600, 1), np.uint16),
])
def test_pillow_modes_keep_depth_and_components(mode: str, shape: tuple[int, ...], dtype: type) -> None:
    pixels = pillow_to_native(Image.fromarray(photo_pixels("coffee.png")).convert(mode))
    assert (pixels.shape, pixels.dtype, pixels.flags.c_contiguous) == (shape, dtype, True)


@pytest.mark.parametrize(("fmt", "channels_in", "dtype_in", "channels_out", "dtype_out"), [
    ("jpeg", 4, np.uint8, 3, np.uint8), ("jpeg", 2, np.uint16, 1, np.uint8), ("webp", 1, np.uint8, 3, np.uint8),
    ("webp", 2, np.uint8, 4, np.uint8), ("png", 2, np.uint16, 2, np.uint16), ("jp2", 4, np.uint16, 4, np.uint16),
])
def test_fit_to_format(fmt: str, channels_in: int, dtype_in: type, channels_out: int, dtype_out: type) -> None:
    pixels = np.full((8, 8, channels_in), 0x1234, dtype=np.uint16).astype(dtype_in)
    fitted = fit_to_format(pixels, fmt)
    assert (fitted.shape[2], fitted.dtype) == (channels_out, dtype_out)
    if dtype_in == np.uint16 and dtype_out == np.uint8:
        assert fitted.max() == 0x12  # shifted, not clipped


def test_require_native_names_the_problem() -> None:
    assert require_native(np.zeros((4, 5), dtype=np.uint8)).shape == (4, 5, 1)
    with pytest.raises(InvalidArrayError, match="uint8/uint16 with C in 1-4"):
        require_native(np.zeros((4, 5, 5), dtype=np.uint8))
    with pytest.raises(InvalidArrayError, match="uint8/uint16"):
        require_native(np.zeros((4, 5, 3), dtype=np.float32))


@pytest.mark.parametrize(("channels", "fmt"), [(1, "png"), (3, "png"), (4, "png"), (3, "tiff"), (4, "tiff"), (1, "tiff")])
def test_16_bit_png_and_tiff_round_trip(channels: int, fmt: str) -> None:
    rgb = photo_pixels("astronaut.png")[::4, ::4].astype(np.uint16) * 257 + 1
    pixels = np.ascontiguousarray(np.dstack([rgb, rgb[..., :1]])[..., :channels])
    encoded = ImageEncoder(device="cpu").encode_native(pixels, EncodeOptions(fmt))
    decoded = ImageDecoder(device="cpu").decode_native(encoded.data)
    assert decoded.bits == 16
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_rgba_png_keeps_alpha_and_jpeg_stays_rgb() -> None:
    rgba = np.dstack([photo_pixels("coffee.png"), np.full((400, 600, 1), 128, np.uint8)])
    decoder = ImageDecoder(device="cpu")
    assert decoder.decode_native(pillow_bytes(rgba, "PNG")).pixels.shape == (400, 600, 4)
    decoded = decoder.decode_native(photo_bytes("zidane.jpg"))
    assert (decoded.pixels.shape, decoded.bits, decoded.backend) == ((720, 1280, 3), 8, "nvimgcodec-cpu")
    np.testing.assert_array_equal(decoded.pixels, photo_pixels("zidane.jpg"))


def test_reduce_is_for_jpeg2000_only() -> None:
    with pytest.raises(InvalidOptionError, match="reduce applies only to JPEG 2000"):
        ImageDecoder(device="cpu").decode_native(photo_bytes("zidane.jpg"), reduce=1)


def test_size_limit_applies_to_the_reduced_size() -> None:
    decoder = ImageDecoder(max_pixels=1_000_000, device="cpu")  # nemo is 3.8 MP
    assert decoder.decode_native(photo_bytes("nemo.jp2"), reduce=1).pixels.shape == (728, 1296, 3)
