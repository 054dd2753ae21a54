"""PNG signature, IHDR and chunk framing: each refused field named."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from imaging.errors import CorruptImageError
from imaging.validate_png import validate_png
from tests.photos import photo_pixels


def small_png(mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo_pixels("astronaut.png")[:40, :60]).convert(mode).save(buffer, format="PNG")
    return buffer.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_ihdr(data: bytes, width: int = 60, height: int = 40, depth: int = 8, colour: int = 2, interlace: int = 0) -> bytes:
    return data[:8] + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)) + data[33:]


def without(data: bytes, kind: bytes) -> bytes:
    at = data.index(kind) - 4
    length = struct.unpack(">I", data[at : at + 4])[0]
    return data[:at] + data[at + 12 + length :]


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: b"\x89PNG\r\n\x1a\x0b" + d[8:], "signature"),
        (lambda d: d[:29] + b"\x00\x00\x00\x00" + d[33:], "IHDR chunk fails its CRC"),
        (lambda d: with_ihdr(d, width=0), "invalid size 0x40"),
        (lambda d: with_ihdr(d, depth=4), "colour type 2 with bit depth 4"),
        (lambda d: with_ihdr(d, interlace=2), "interlace 2"),
        (lambda d: d[:33] + chunk(b"IHDR", d[16:29]) + d[33:], "second IHDR"),
        (lambda d: d[:33] + struct.pack(">I", 1 << 31) + b"tEXt" + d[41:], "declares 2147483648 bytes"),
        (lambda d: d[:33] + chunk(b"t3Xt", b"") + d[33:], "invalid type"),
        (lambda d: without(d, b"IDAT"), r"without image data \(IDAT\)"),
        (lambda d: d[:33] + chunk(b"eXIf", b"MM\x00\x2a\x00\x00\x00\x08") + chunk(b"eXIf", b"MM\x00\x2a\x00\x00\x00\x08") + d[33:], "too short|more than one eXIf"),
        (lambda d: d[:-20], "truncated"),
    ],
    ids=["signature", "crc", "width", "depth", "interlace", "second-ihdr", "huge-chunk", "chunk-type", "no-idat", "exif", "cut"],
)
def test_bad_fields_are_named(damage: object, named: str) -> None:
    with pytest.raises(CorruptImageError, match=named):
        validate_png(damage(small_png()))  # type: ignore[operator]


def test_a_palette_image_needs_its_palette_before_the_data() -> None:
    data = small_png("P")
    validate_png(data)
    with pytest.raises(CorruptImageError, match="no PLTE chunk"):
        validate_png(without(data, b"PLTE"))


def test_two_exif_chunks_are_refused() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    block = chunk(b"eXIf", exif.tobytes())
    data = small_png()
    validate_png(data[:33] + block + data[33:])
    with pytest.raises(CorruptImageError, match="more than one eXIf"):
        validate_png(data[:33] + block + block + data[33:])
