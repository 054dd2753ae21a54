"""ImageDecoder and ImageEncoder on real photos.

Measured: nvImageCodec's CPU decode of every test photo (JPEG, PNG, JP2, J2K) is bit-identical
to Pillow's, so decode comparisons are exact (tolerance 0).
"""

from __future__ import annotations

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from imaging.codec import DecodedImage, EncodeOptions, ImageDecoder, ImageEncoder
from imaging.errors import (
    CorruptImageError,
    DeviceUnavailableError,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    InvalidArrayError,
    InvalidOptionError,
    UnsupportedFormatError,
)
from tests.imaging.conftest import pillow_bytes
from tests.imaging.test_formats import PHOTOS, huge_png
from tests.photos import photo_bytes, photo_pixels


def exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize("name", PHOTOS)
def test_decode_equals_pillow(decoder: ImageDecoder, name: str) -> None:
    decoded = decoder.decode(photo_bytes(name))
    assert decoded.source_format == PHOTOS[name]
    assert decoded.backend == "nvimgcodec-cpu"
    assert decoded.pixels.flags.c_contiguous
    np.testing.assert_array_equal(decoded.pixels, photo_pixels(name))


@pytest.mark.parametrize(("pillow_format", "fmt"), [("WEBP", "webp"), ("TIFF", "tiff"), ("BMP", "bmp")])
def test_pillow_formats(decoder: ImageDecoder, pillow_format: str, fmt: str) -> None:
    pixels = photo_pixels("coffee.png")
    lossless = {"lossless": True} if fmt == "webp" else {}
    decoded = decoder.decode(pillow_bytes(pixels, pillow_format, **lossless))
    assert (decoded.source_format, decoded.backend) == (fmt, "pillow")
    np.testing.assert_array_equal(decoded.pixels, pixels)


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_exif_orientation_is_applied(decoder: ImageDecoder, pillow_format: str) -> None:
    upright = np.ascontiguousarray(photo_pixels("astronaut.png")[:, :300])  # 512 high, 300 wide
    stored = np.rot90(upright, k=1)  # what a camera held sideways stores; Orientation 6 undoes it
    options = {"lossless": True} if pillow_format == "WEBP" else {}
    data = pillow_bytes(stored, pillow_format, exif=exif_with_orientation(6), **options)
    decoded = decoder.decode(data)
    assert decoded.pixels.shape == (512, 300, 3)
    if pillow_format == "JPEG":  # lossy: compare with Pillow's own upright decode
        with Image.open(io.BytesIO(data)) as image:
            upright = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    np.testing.assert_array_equal(decoded.pixels, upright)


@pytest.mark.parametrize("pillow_format", ["JPEG", "PNG", "JPEG2000"])
def test_grayscale_becomes_three_equal_channels(decoder: ImageDecoder, pillow_format: str) -> None:
    gray = Image.fromarray(photo_pixels("astronaut.png")).convert("L")
    decoded = decoder.decode(pillow_bytes(gray, pillow_format))
    assert decoded.pixels.shape == (512, 512, 3) and decoded.pixels.dtype == np.uint8
    np.testing.assert_array_equal(decoded.pixels[..., 0], decoded.pixels[..., 2])
    if pillow_format != "JPEG":
        np.testing.assert_array_equal(decoded.pixels[..., 1], np.asarray(gray))


def test_alpha_is_dropped(decoder: ImageDecoder) -> None:
    rgb = photo_pixels("astronaut.png")
    alpha = np.broadcast_to(np.arange(512, dtype=np.uint8)[None, :, None] // 2, (512, 512, 1))
    decoded = decoder.decode(pillow_bytes(np.concatenate([rgb, alpha], axis=2), "PNG"))
    np.testing.assert_array_equal(decoded.pixels, rgb)


@pytest.mark.parametrize("transparency", [None, 0])
def test_palette_is_expanded(decoder: ImageDecoder, transparency: int | None) -> None:
    palette = Image.fromarray(photo_pixels("coffee.png")).convert("P")
    options = {} if transparency is None else {"transparency": transparency}
    decoded = decoder.decode(pillow_bytes(palette, "PNG", **options))
    np.testing.assert_array_equal(decoded.pixels, np.asarray(palette.convert("RGB")))


def test_16_bit_gray_png_is_scaled(decoder: ImageDecoder) -> None:
    gray = photo_pixels("astronaut.png")[..., 0]
    decoded = decoder.decode(pillow_bytes(gray.astype(np.uint16) * 257, "PNG"))
    np.testing.assert_array_equal(decoded.pixels, np.repeat(gray[..., None], 3, axis=2))


def test_16_bit_rgb_png_is_scaled(decoder: ImageDecoder) -> None:
    rgb = photo_pixels("astronaut.png")
    ok, png = cv2.imencode(".png", rgb[..., ::-1].astype(np.uint16) * 257)
    assert ok
    np.testing.assert_array_equal(decoder.decode(png.tobytes()).pixels, rgb)


def test_cmyk_jpeg_becomes_rgb(decoder: ImageDecoder) -> None:
    rgb = photo_pixels("coffee.png")
    decoded = decoder.decode(pillow_bytes(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95))
    assert decoded.pixels.shape == rgb.shape
    assert np.abs(decoded.pixels.astype(int) - rgb).mean() < 3


def test_huge_header_is_refused_before_decoding(decoder: ImageDecoder) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLargeError) as caught:
            decoder.decode(huge_png(60000, 60000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value) == "image is 60000x60000 = 3600000000 pixels, above the limit of 100000000"
    assert peak < 5_000_000


def test_limit_is_configurable() -> None:
    with pytest.raises(ImageTooLargeError, match="1280x720 = 921600 pixels, above the limit of 100000"):
        ImageDecoder(max_pixels=100_000, device="cpu").decode(photo_bytes("zidane.jpg"))


def test_empty_and_text(decoder: ImageDecoder) -> None:
    with pytest.raises(EmptyImageError):
        decoder.decode(b"")
    with pytest.raises(UnsupportedFormatError, match="text"):
        decoder.decode(b"this is a text file, not a photo\n")


@pytest.mark.parametrize("name", ["zidane.jpg", "astronaut.png", "nemo.jp2", "goodstuff.j2k"])
def test_truncated_at_half_is_corrupt(decoder: ImageDecoder, name: str) -> None:
    data = photo_bytes(name)
    with pytest.raises(CorruptImageError, match=PHOTOS[name]):
        decoder.decode(data[: len(data) // 2])


def test_jpeg_missing_only_its_end_marker_is_corrupt(decoder: ImageDecoder) -> None:
    with pytest.raises(CorruptImageError):
        decoder.decode(photo_bytes("zidane.jpg")[:-2])


def test_decode_batch_returns_errors_in_place(decoder: ImageDecoder) -> None:
    zidane, nemo = photo_bytes("zidane.jpg"), photo_bytes("nemo.jp2")
    webp = pillow_bytes(photo_pixels("coffee.png"), "WEBP", lossless=True)
    items = [zidane, b"", b"plain text", zidane[:5000], huge_png(), nemo, webp, nemo[:-100]]
    results = decoder.decode_batch(items)
    kinds = [type(result) for result in results]
    assert kinds == [
        DecodedImage,
        EmptyImageError,
        UnsupportedFormatError,
        CorruptImageError,
        ImageTooLargeError,
        DecodedImage,
        DecodedImage,
        CorruptImageError,
    ]
    good = {index: result for index, result in enumerate(results) if isinstance(result, DecodedImage)}
    np.testing.assert_array_equal(good[0].pixels, photo_pixels("zidane.jpg"))
    np.testing.assert_array_equal(good[5].pixels, photo_pixels("nemo.jp2"))
    assert good[6].backend == "pillow"
    assert all(isinstance(result, (DecodedImage, ImageError)) for result in results)


def test_decode_batch_of_nothing(decoder: ImageDecoder) -> None:
    assert decoder.decode_batch([]) == []


def test_bad_constructor_arguments() -> None:
    with pytest.raises(InvalidOptionError, match="device"):
        ImageDecoder(device="tpu")
    with pytest.raises(InvalidOptionError, match="max_pixels"):
        ImageDecoder(max_pixels=0)


@pytest.mark.parametrize("factory", [ImageDecoder, ImageEncoder])
def test_gpu_device_is_used_or_refused(factory: type) -> None:
    try:
        codec = factory(device="gpu")
    except DeviceUnavailableError as exc:
        assert "GPU" in str(exc)
    else:
        assert codec.backend == "nvimgcodec-gpu"


def test_auto_device_always_works() -> None:
    assert ImageDecoder(device="auto").backend in {"nvimgcodec-cpu", "nvimgcodec-gpu"}


@pytest.mark.parametrize("fmt", ["jp2", "j2k"])
def test_lossless_jpeg2000_round_trip_is_bit_exact(
    decoder: ImageDecoder, encoder: ImageEncoder, fmt: str
) -> None:
    pixels = photo_pixels("astronaut.png")
    decoded = decoder.decode(encoder.encode(pixels, EncodeOptions(fmt, lossless=True)))
    assert decoded.source_format == fmt
    np.testing.assert_array_equal(decoded.pixels, pixels)


@pytest.mark.parametrize("fmt", ["jp2", "j2k"])
def test_lossy_jpeg2000_meets_the_compression_ratio(encoder: ImageEncoder, fmt: str) -> None:
    pixels = photo_pixels("astronaut.png")
    data = encoder.encode(pixels, EncodeOptions(fmt, compression_ratio=20))
    assert pixels.nbytes / len(data) == pytest.approx(20, rel=0.10)


def psnr(decoded: np.ndarray, reference: np.ndarray) -> float:
    mse = np.mean((decoded.astype(np.float64) - reference) ** 2)
    return float(10 * np.log10(255**2 / mse))


@pytest.mark.parametrize(
    ("options", "min_psnr"),
    [
        (EncodeOptions("jpeg", quality=90), 32),
        (EncodeOptions("webp", quality=90), 32),
        (EncodeOptions("jp2", quality=90), 38),
        (EncodeOptions("jp2", quality=50), 30),
    ],
)
def test_lossy_formats_keep_the_picture(
    decoder: ImageDecoder, encoder: ImageEncoder, options: EncodeOptions, min_psnr: float
) -> None:
    pixels = photo_pixels("astronaut.png")
    decoded = decoder.decode(encoder.encode(pixels, options))
    assert decoded.source_format == options.format
    assert psnr(decoded.pixels, pixels) > min_psnr


def test_jpeg_quality_trades_size(encoder: ImageEncoder) -> None:
    pixels = photo_pixels("zidane.jpg")
    sizes = [len(encoder.encode(pixels, EncodeOptions("jpeg", quality=q))) for q in (30, 60, 95)]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize(
    "options", [EncodeOptions("png"), EncodeOptions("webp", lossless=True), EncodeOptions("tiff")]
)
def test_lossless_formats_round_trip(
    decoder: ImageDecoder, encoder: ImageEncoder, options: EncodeOptions
) -> None:
    pixels = photo_pixels("coffee.png")
    decoded = decoder.decode(encoder.encode(pixels, options))
    assert decoded.source_format == options.format
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_encode_accepts_strided_views(decoder: ImageDecoder, encoder: ImageEncoder) -> None:
    view = photo_pixels("coffee.png")[::2, ::2]
    decoded = decoder.decode(encoder.encode(view, EncodeOptions("png")))
    np.testing.assert_array_equal(decoded.pixels, view)


def test_encode_rejects_non_rgb(encoder: ImageEncoder) -> None:
    with pytest.raises(InvalidArrayError, match="HxWx3 uint8"):
        encoder.encode(np.zeros((4, 4), dtype=np.uint8), EncodeOptions())
