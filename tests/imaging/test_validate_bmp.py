"""BMP headers and the uncompressed rows' budget."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from imaging.errors import CorruptImageError
from imaging.validate_bmp import validate_bmp
from imaging.validate_header import validate_header
from tests.photos import photo_pixels


def bmp(mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo_pixels("astronaut.png")[:30, :50]).convert(mode).save(buffer, format="BMP")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "1"])
def test_pillow_files_pass_at_their_exact_size(mode: str) -> None:
    data = bmp(mode)
    header = validate_bmp(data)
    assert (header.width, header.height) == (50, 30)
    assert header.min_bytes <= len(data) <= header.min_bytes + 3  # only the last row's padding is spare


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: d[:14] + struct.pack("<I", 20) + d[18:], "DIB header size 20"),
        (lambda d: d[:18] + struct.pack("<I", 0) + d[22:], "invalid size 0x30"),
        (lambda d: d[:28] + struct.pack("<HI", 7, 0) + d[34:], "7-bit pixels"),
        (lambda d: d[:28] + struct.pack("<HI", 24, 1) + d[34:], "24-bit pixels with compression 1"),
        (lambda d: d[:10] + struct.pack("<I", 5) + d[14:], "pixel data offset 5"),
    ],
    ids=["dib-size", "width", "depth", "rle-depth", "offset"],
)
def test_bad_headers_are_named(damage: object, named: str) -> None:
    with pytest.raises(CorruptImageError, match=named):
        validate_bmp(damage(bmp()))  # type: ignore[operator]


def test_a_small_file_claiming_many_rows_is_refused() -> None:
    data = bmp()
    claiming = data[:18] + struct.pack("<ii", 10_000, 10_000) + data[26:]  # Pillow would allocate 300 MB first
    with pytest.raises(CorruptImageError, match=r"10000x10000 pixels, which need at least 300000054 bytes \(uncompressed BMP"):
        validate_header(claiming, "bmp")
