"""The header validators' entry point: real files of every format pass, the crashers and the
files too small for their claimed size are refused by name, a prefix is told apart."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imaging.codec import ImageDecoder
from imaging.errors import CorruptImageError
from imaging.formats import CONTENT_TYPES, sniff_format
from imaging.validate_header import VALIDATORS, HeaderTruncatedError, validate_header
from tests.crashers import CRASHERS, j2k_zero_tile_width, jpeg_conflicting_exif
from tests.gateway.images import jpeg_claiming, png_header
from tests.photos import photo_bytes, photo_pixels


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def real_files() -> dict[str, bytes]:
    astronaut = Image.fromarray(photo_pixels("astronaut.png"))
    flat = Image.new("RGB", (6000, 4000))  # compresses as well as each format can: the budgets' edge
    files = {name: photo_bytes(name) for name in ("zidane.jpg", "bus.jpg", "grace_hopper.jpg", "nemo.jp2", "goodstuff.j2k", "coffee.png")}
    files |= {
        "progressive.jpg": encoded(astronaut, "JPEG", progressive=True),
        "flat-optimized.jpg": encoded(flat, "JPEG", optimize=True, subsampling=0),
        "flat-progressive.jpg": encoded(flat.convert("L"), "JPEG", progressive=True, optimize=True),
        "flat.png": encoded(flat, "PNG", compress_level=9),
        "palette.png": encoded(astronaut.convert("P"), "PNG"),
        "apng.png": encoded(astronaut, "PNG", save_all=True, append_images=[astronaut.rotate(90)]),
        "lossy.webp": encoded(astronaut, "WEBP"),
        "lossless.webp": encoded(astronaut.convert("RGBA"), "WEBP", lossless=True),
        "animated.webp": encoded(astronaut, "WEBP", save_all=True, append_images=[astronaut.rotate(90)]),
        "deflate.tiff": encoded(flat, "TIFF", compression="tiff_deflate"),
        "lzw-pages.tiff": encoded(astronaut, "TIFF", compression="tiff_lzw", save_all=True, append_images=[astronaut]),
        "jpeg.tiff": encoded(astronaut, "TIFF", compression="jpeg"),
        "tiled.jp2": encoded(astronaut, "JPEG2000", tile_size=(128, 128), irreversible=True),
        "exif.jpg": encoded(astronaut, "JPEG", exif=_exif(6)),
        "exif.png": encoded(astronaut, "PNG", exif=_exif(3)),
        "exif.webp": encoded(astronaut, "WEBP", exif=_exif(8)),
    }
    return files


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize(("name", "data"), real_files().items(), ids=list(real_files()))
def test_real_files_pass(name: str, data: bytes) -> None:
    fmt = sniff_format(data)
    header = validate_header(data, fmt)
    with Image.open(io.BytesIO(data)) as reference:
        assert header is not None and (header.width, header.height) == reference.size
    assert header.min_bytes <= len(data)


@pytest.mark.parametrize(("name", "build"), CRASHERS.items())
def test_the_stub_killers_are_refused_by_name(name: str, build: object) -> None:
    data = build()  # type: ignore[operator]
    with pytest.raises(CorruptImageError) as refused:
        validate_header(data, sniff_format(data))
    assert refused.value.code == "corrupt_image"


def test_the_crashers_are_refused_before_nvimagecodec_sees_them(decoder: ImageDecoder) -> None:
    with pytest.raises(CorruptImageError, match="tiles of 0x64"):
        decoder.decode(j2k_zero_tile_width())
    with pytest.raises(CorruptImageError, match=r"conflicting orientations \[1, 6\]"):
        decoder.decode_native(jpeg_conflicting_exif())


def test_a_small_file_claiming_a_huge_jpeg_is_refused_before_decoding(decoder: ImageDecoder) -> None:
    data = jpeg_claiming(9000, 9000)  # 631 bytes, like the one decoded in full on main (24 s, +1.6 GB)
    assert len(data) == 631
    with pytest.raises(CorruptImageError, match=r"9000x9000 pixels, which need at least 474890 bytes \(sequential JPEG: 2 bits per 8x8 block"):
        decoder.decode(data)


def test_a_png_whose_data_cannot_hold_its_size_is_refused() -> None:
    data = png_header(20000, 20000) + encoded(Image.new("L", (1, 1)), "PNG")[33:]  # 1x1's IDAT and IEND
    with pytest.raises(CorruptImageError, match=r"which need at least 1162791 bytes \(PNG Deflate: at most 1032:1"):
        validate_header(data, "png")


def test_a_prefix_is_told_apart_from_a_short_file() -> None:
    data = photo_bytes("coffee.png")
    with pytest.raises(HeaderTruncatedError):
        validate_header(data[:100], "png", total_size=len(data))  # the rest of the chunks are not here
    assert validate_header(data, "png", total_size=len(data)) is not None


def test_every_readable_format_has_a_validator() -> None:
    assert set(VALIDATORS) == set(CONTENT_TYPES)
    data = encoded(Image.fromarray(np.zeros((4, 4, 3), np.uint8)), "BMP")
    assert validate_header(data, "bmp") is not None
