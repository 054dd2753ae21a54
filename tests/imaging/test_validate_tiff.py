"""TIFF directory chains and strips: bounded, loop-free, inside the file."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from imaging.errors import CorruptImageError
from imaging.validate_header import validate_header
from imaging.validate_tiff import validate_tiff
from tests.photos import photo_pixels


def tiff(**options: object) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(photo_pixels("astronaut.png")[:64, :80])
    image.save(buffer, format="TIFF", **options)
    return buffer.getvalue()


def entry_at(data: bytes, tag: int) -> int:
    """Byte offset of ``tag``'s entry in the first IFD of a little-endian TIFF."""
    first = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[first : first + 2])[0]
    for index in range(count):
        at = first + 2 + 12 * index
        if struct.unpack("<H", data[at : at + 2])[0] == tag:
            return at
    raise KeyError(tag)


def set_value(data: bytes, tag: int, value: int) -> bytes:
    at = entry_at(data, tag) + 8
    kind = struct.unpack("<H", data[at - 6 : at - 4])[0]
    packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
    return data[:at] + packed + data[at + 4 :]


def test_pillow_files_pass() -> None:
    for options in ({}, {"compression": "tiff_lzw"}, {"compression": "tiff_adobe_deflate", "tiffinfo": {322: 16, 323: 16}}):
        header = validate_tiff(tiff(**options))
        assert (header.width, header.height) == (80, 64)


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: b"II\x2b\x00" + d[4:], "truncated"),
        (lambda d: d[:4] + struct.pack("<I", 2) + d[8:], "points into the file header"),
        (lambda d: d[:4] + struct.pack("<I", len(d) + 100) + d[8:], "truncated"),
        (lambda d: set_value(d, 256, 0), r"empty image \(0x64\)"),
        (lambda d: set_value(d, 277, 40), "40 samples"),
        (lambda d: set_value(d, 273, len(d) - 10), "beyond the"),
        (lambda d: set_value(d, 278, 1), "needs 64 strips"),
    ],
    ids=["bigtiff-header", "ifd-in-header", "ifd-outside", "zero-width", "samples", "strip-outside", "strip-count"],
)
def test_bad_directories_are_named(damage: object, named: str) -> None:
    with pytest.raises(CorruptImageError, match=named):
        validate_tiff(damage(tiff()))  # type: ignore[operator]


def test_a_looping_page_chain_is_refused() -> None:
    data = tiff()
    first = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[first : first + 2])[0]
    next_at = first + 2 + 12 * count
    with pytest.raises(CorruptImageError, match=f"loops back to offset {first}"):
        validate_tiff(data[:next_at] + struct.pack("<I", first) + data[next_at + 4 :])


def test_an_uncompressed_file_must_hold_its_pixels() -> None:
    claiming = set_value(set_value(tiff(), 257, 64_000), 278, 64_000)  # 1000x the rows, in the same one strip
    with pytest.raises(CorruptImageError, match=r"80x64000 pixels, which need at least 15360000 bytes \(TIFF uncompressed\)"):
        validate_header(claiming, "tiff")
