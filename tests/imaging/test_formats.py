from __future__ import annotations

import struct
import tracemalloc
import zlib

import numpy as np
import pytest

from imaging.errors import CorruptImageError, EmptyImageError, UnsupportedFormatError
from imaging.formats import (
    CONTENT_TYPES,
    OUTPUT_FORMATS,
    default_output_format,
    image_dimensions,
    sniff_format,
)
from tests.imaging.conftest import pillow_bytes
from tests.photos import photo_bytes, photo_pixels

PHOTOS = {
    "zidane.jpg": "jpeg",
    "bus.jpg": "jpeg",
    "grace_hopper.jpg": "jpeg",
    "astronaut.png": "png",
    "coffee.png": "png",
    "nemo.jp2": "jp2",
    "goodstuff.j2k": "j2k",
}


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def huge_png(width: int = 60000, height: int = 60000) -> bytes:
    """A well-formed PNG whose IHDR claims ``width`` x ``height`` RGB pixels (the data is tiny)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    data = png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + header + data + png_chunk(b"IEND", b"")


@pytest.mark.parametrize(("name", "fmt"), PHOTOS.items())
def test_sniff_real_photos(name: str, fmt: str) -> None:
    assert sniff_format(photo_bytes(name)) == fmt


@pytest.mark.parametrize(("pillow_format", "fmt"), [("WEBP", "webp"), ("TIFF", "tiff"), ("BMP", "bmp")])
def test_sniff_pillow_made_formats(pillow_format: str, fmt: str) -> None:
    data = pillow_bytes(photo_pixels("coffee.png"), pillow_format)
    assert sniff_format(data) == fmt
    assert image_dimensions(data, fmt) == (600, 400)


def test_sniff_big_endian_tiff() -> None:
    assert sniff_format(b"MM\x00*\x00\x00\x00\x08") == "tiff"


def test_empty_data() -> None:
    with pytest.raises(EmptyImageError, match="empty"):
        sniff_format(b"")


@pytest.mark.parametrize(
    ("data", "description"),
    [
        (b"name,score\nalice,3\n", "text"),
        (b"GIF89a\x01\x00\x01\x00", "GIF"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\x00\x00\x00\x18ftypheic", "HEIC"),
        (bytes(range(200, 216)), "unknown binary data"),
    ],
)
def test_unsupported_data_is_described(data: bytes, description: str) -> None:
    with pytest.raises(UnsupportedFormatError, match=description):
        sniff_format(data)


@pytest.mark.parametrize("name", PHOTOS)
def test_dimensions_match_pillow(name: str) -> None:
    height, width = photo_pixels(name).shape[:2]
    assert image_dimensions(photo_bytes(name), PHOTOS[name]) == (width, height)


def test_dimensions_of_a_huge_header_without_allocating() -> None:
    data = huge_png()
    tracemalloc.start()
    try:
        size = image_dimensions(data, "png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size == (60000, 60000)
    assert peak < 1_000_000


def test_dimensions_of_a_broken_header() -> None:
    data = photo_bytes("zidane.jpg")[:100]
    with pytest.raises(CorruptImageError, match="jpeg header"):
        image_dimensions(data, "jpeg")


def test_dimensions_of_an_unknown_format() -> None:
    with pytest.raises(UnsupportedFormatError, match="gif"):
        image_dimensions(b"GIF89a", "gif")


@pytest.mark.parametrize(
    ("source", "output"),
    [
        ("jpeg", "jpeg"),
        ("png", "png"),
        ("jp2", "jp2"),
        ("j2k", "jp2"),
        ("webp", "webp"),
        ("tiff", "tiff"),
        ("bmp", "png"),
        ("gif", "jpeg"),
    ],
)
def test_default_output_format(source: str, output: str) -> None:
    assert default_output_format(source) == output
    assert output in OUTPUT_FORMATS


def test_every_output_format_has_a_content_type() -> None:
    assert CONTENT_TYPES.keys() >= OUTPUT_FORMATS
    assert CONTENT_TYPES["jpeg"] == "image/jpeg"
    assert all(value.startswith("image/") for value in CONTENT_TYPES.values())
    assert np.unique(list(CONTENT_TYPES.values())).size == len(CONTENT_TYPES)


def test_png_size_is_read_from_a_lone_ihdr() -> None:
    """A bomb needs no pixel data to be refused: IHDR alone tells its size."""
    body = b"IHDR" + struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))
    assert image_dimensions(header, "png") == (60000, 60000)
