"""JPEG 2000 through the codec layer: round trips, targets, reduced resolution, depths, damage.

Every test runs on the CPU (nvImageCodec's OpenJPEG + Pillow's OpenJPEG); the same assertions
run with nvJPEG2000 where a GPU is present (marker ``gpu``). Decoded pixels are compared with
Pillow's decode at tolerance 0: both are OpenJPEG and were measured bit-identical.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imaging.codec import EncodeOptions, ImageDecoder, ImageEncoder
from imaging.errors import CorruptImageError, InvalidOptionError
from imaging.jpeg2000_header import read_header
from tests.photos import photo_bytes, photo_pixels

DEVICES = ["cpu", pytest.param("gpu", marks=pytest.mark.gpu)]


@pytest.fixture(scope="module", params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def decoder(device: str) -> ImageDecoder:
    return ImageDecoder(device=device)


@pytest.fixture(scope="module")
def encoder(device: str) -> ImageEncoder:
    return ImageEncoder(device=device)


def pillow_decode(data: bytes, reduce: int = 0) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.reduce = reduce
        image.load()
        return np.asarray(image)


@pytest.mark.parametrize("fmt", ["jp2", "j2k"])
@pytest.mark.parametrize("name", ["nemo.jp2", "grace_hopper.jpg", "astronaut.png"])
def test_lossless_round_trip_is_bit_exact(decoder: ImageDecoder, encoder: ImageEncoder, name: str, fmt: str) -> None:
    pixels = photo_pixels(name)
    encoded = encoder.encode_native(pixels, EncodeOptions(fmt, lossless=True))
    header = read_header(encoded.data)
    assert (header.container, header.reversible, header.width, header.height) == (fmt, True, pixels.shape[1], pixels.shape[0])
    decoded = decoder.decode_native(encoded.data)
    assert decoded.source_format == fmt and decoded.bits == 8
    np.testing.assert_array_equal(decoded.pixels, pixels)


@pytest.mark.parametrize("ratio", [10, 40])
@pytest.mark.parametrize("fmt", ["jp2", "j2k"])
def test_lossy_meets_its_target_ratio_within_10_percent(encoder: ImageEncoder, fmt: str, ratio: float) -> None:
    pixels = photo_pixels("grace_hopper.jpg")
    encoded = encoder.encode_native(pixels, EncodeOptions(fmt, compression_ratio=ratio))
    assert pixels.nbytes / len(encoded.data) == pytest.approx(ratio, rel=0.10)
    assert not read_header(encoded.data).reversible  # the 9/7 wavelet


def psnr(decoded: np.ndarray, reference: np.ndarray, peak: int = 255) -> float:
    mse = np.mean((decoded.astype(np.float64) - reference) ** 2)
    return float(10 * np.log10(peak**2 / mse))


@pytest.mark.parametrize("target", [32.0, 40.0])
def test_lossy_psnr_target_is_met(decoder: ImageDecoder, encoder: ImageEncoder, target: float) -> None:
    pixels = photo_pixels("astronaut.png")
    encoded = encoder.encode_native(pixels, EncodeOptions("jp2", psnr=target))
    assert psnr(decoder.decode_native(encoded.data).pixels, pixels) == pytest.approx(target, abs=1.5)


def test_tiles_and_resolution_levels_are_written(encoder: ImageEncoder) -> None:
    pixels = photo_pixels("astronaut.png")
    encoded = encoder.encode_native(pixels, EncodeOptions("j2k", lossless=True, tile_size=(128, 256), resolutions=4))
    header = read_header(encoded.data)
    assert (header.tile_width, header.tile_height, header.tiles, header.levels) == (128, 256, 8, 3)


@pytest.mark.parametrize("reduce", [1, 2, 3])
def test_reduced_resolution_decode_has_the_expected_size(decoder: ImageDecoder, encoder: ImageEncoder, reduce: int) -> None:
    pixels = photo_pixels("zidane.jpg")  # 1280x720
    data = encoder.encode_native(pixels, EncodeOptions("jp2", compression_ratio=10)).data
    preview = decoder.decode_native(data, reduce=reduce)
    assert preview.pixels.shape == (720 >> reduce, 1280 >> reduce, 3)
    np.testing.assert_array_equal(preview.pixels, pillow_decode(data, reduce))


def test_reduced_size_rounds_up_and_stops_at_the_wavelet_levels(decoder: ImageDecoder) -> None:
    data = photo_bytes("nemo.jp2")  # 2592x1456, one decomposition level
    assert decoder.decode_native(data, reduce=1).pixels.shape == (728, 1296, 3)
    with pytest.raises(InvalidOptionError, match="reduce=2 is more than the 1 resolution reductions"):
        decoder.decode_native(data, reduce=2)
    odd = ImageEncoder(device="cpu").encode_native(photo_pixels("astronaut.png")[:101, :75], EncodeOptions("j2k", lossless=True))
    assert decoder.decode_native(odd.data, reduce=2).pixels.shape == (26, 19, 3)


@pytest.mark.parametrize("name", ["nemo.jp2", "goodstuff.j2k"])
def test_decode_equals_pillow(decoder: ImageDecoder, name: str) -> None:
    decoded = decoder.decode_native(photo_bytes(name))
    assert decoded.backend.startswith("nvimgcodec")
    np.testing.assert_array_equal(decoded.pixels, pillow_decode(photo_bytes(name)))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_8_bit_components_round_trip(decoder: ImageDecoder, encoder: ImageEncoder, channels: int) -> None:
    rgb = photo_pixels("astronaut.png")[::2, ::2]
    pixels = np.ascontiguousarray(np.dstack([rgb, rgb[..., :1]])[..., :channels] if channels != 2 else rgb[..., :2])
    encoded = encoder.encode_native(pixels, EncodeOptions("jp2", lossless=True))
    assert read_header(encoded.data).components == channels
    np.testing.assert_array_equal(decoder.decode_native(encoded.data).pixels, pixels)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("fmt", ["jp2", "j2k"])
def test_16_bit_lossless_round_trip(decoder: ImageDecoder, encoder: ImageEncoder, channels: int, fmt: str) -> None:
    rgb = photo_pixels("astronaut.png")[::2, ::2].astype(np.uint16) * 257
    pixels = np.ascontiguousarray(np.dstack([rgb, rgb[..., 1:2] // 3])[..., :channels])
    encoded = encoder.encode_native(pixels, EncodeOptions(fmt, lossless=True))
    header = read_header(encoded.data)
    assert (header.container, header.bits, header.components) == (fmt, 16, channels)
    decoded = decoder.decode_native(encoded.data)
    assert decoded.bits == 16 and decoded.pixels.dtype == np.uint16
    np.testing.assert_array_equal(decoded.pixels, pixels)


def test_16_bit_colour_lossy_ratio_and_reduced_decode(decoder: ImageDecoder, encoder: ImageEncoder) -> None:
    pixels = photo_pixels("astronaut.png").astype(np.uint16) * 257
    encoded = encoder.encode_native(pixels, EncodeOptions("jp2", compression_ratio=20))
    assert pixels.nbytes / len(encoded.data) == pytest.approx(20, rel=0.10)
    preview = decoder.decode_native(encoded.data, reduce=1)
    assert preview.pixels.shape == (256, 256, 3) and preview.pixels.dtype == np.uint16
    assert psnr(preview.pixels[::2, ::2], pixels[::4, ::4], peak=65535) > 20


def test_16_bit_gray_reduced_decode_reads_only_lower_levels(decoder: ImageDecoder, encoder: ImageEncoder) -> None:
    gray = photo_pixels("astronaut.png")[..., :1].astype(np.uint16) * 257
    data = encoder.encode_native(gray, EncodeOptions("j2k", psnr=60)).data
    preview = decoder.decode_native(data, reduce=2)
    assert (preview.pixels.shape, preview.pixels.dtype, preview.reduce_method) == ((128, 128, 1), np.uint16, "codestream")


@pytest.mark.gpu
def test_gpu_encodes_with_nvjpeg2000() -> None:
    encoded = ImageEncoder(device="gpu").encode_native(photo_pixels("astronaut.png"), EncodeOptions("jp2", lossless=True))
    assert encoded.backend == "nvimgcodec-gpu"


def test_cpu_16_bit_colour_without_a_ratio_is_refused_by_name() -> None:
    pixels = np.zeros((64, 64, 3), dtype=np.uint16)
    with pytest.raises(InvalidOptionError, match="16-bit colour JPEG 2000 without a GPU needs lossless"):
        ImageEncoder(device="cpu").encode_native(pixels, EncodeOptions("jp2", quality=80))


def test_too_many_resolutions_for_the_tile_is_refused(encoder: ImageEncoder) -> None:
    with pytest.raises(InvalidOptionError, match="resolutions=8 needs tiles of at least 128"):
        encoder.encode_native(photo_pixels("astronaut.png"), EncodeOptions("jp2", tile_size=(64, 64), resolutions=8))


def garble(data: bytes, start: int, length: int = 64) -> bytes:
    """Noise over ``length`` bytes. In entropy-coded data OpenJPEG decodes noise without a word
    (JPEG 2000 has no checksums); in marker segments it is caught."""
    noise = np.random.default_rng(7).integers(0, 256, length, dtype=np.uint8).tobytes()
    return data[:start] + noise + data[start + length :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "corrupt"),
        (lambda data: data[:120], "truncated|corrupt"),
        (lambda data: data[:85] + b"\xff\x4f\xff\x90" + data[89:], "SIZ or COD"),
        (lambda data: garble(data, 200), "corrupt"),  # the first tile-part header (SOT)
    ],
    ids=["half", "header-only", "no-siz", "garbled-tile-header"],
)
def test_corrupt_codestreams_get_a_named_error(decoder: ImageDecoder, damage: object, message: str) -> None:
    with pytest.raises(CorruptImageError, match=message) as caught:
        decoder.decode_native(damage(photo_bytes("nemo.jp2")))  # type: ignore[operator]
    assert caught.value.code == "corrupt_image"
