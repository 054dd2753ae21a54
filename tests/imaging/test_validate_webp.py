"""WebP RIFF framing and VP8 / VP8L / VP8X headers: each refused field named."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from imaging.errors import CorruptImageError
from imaging.validate_webp import validate_webp
from tests.photos import photo_pixels


def webp(**options: object) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(photo_pixels("astronaut.png")[:64, :80])
    image.save(buffer, format="WEBP", **options)
    return buffer.getvalue()


def riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def image_chunk(data: bytes) -> bytes:
    """The VP8 or VP8L chunk of a simple-format file."""
    return data[12:]


def vp8x(width: int, height: int, flags: int = 0) -> bytes:
    return chunk(b"VP8X", struct.pack("<I", flags) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))


def test_pillow_files_pass() -> None:
    for options in ({}, {"lossless": True}, {"exif": Image.Exif().tobytes()}):
        assert (validate_webp(webp(**options)).width, validate_webp(webp(**options)).height) == (80, 64)


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: d[:4] + struct.pack("<I", len(d) + 100) + d[8:], "truncated"),
        (lambda d: d[:4] + struct.pack("<I", 3) + d[8:], "RIFF size 3"),
        (lambda d: d[:20] + bytes([d[20] | 1]) + d[21:], "VP8 chunk is not a key frame"),
        (lambda d: d[:23] + b"\x00" + d[24:], "start code"),
        (lambda d: riff(chunk(b"ALPH", b"\x00\x00")), "first chunk is b'ALPH'"),
        (lambda d: riff(vp8x(80, 64), image_chunk(webp(lossless=True))), None),
        (lambda d: riff(vp8x(81, 64), image_chunk(d)), "image chunk is 80x64 but the canvas is 81x64"),
        (lambda d: riff(vp8x(80, 64)), "has no image chunk"),
        (lambda d: riff(vp8x(80, 64, flags=0x02), chunk(b"ANMF", struct.pack("<6B", 0, 0, 0, 0, 0, 0) + (99).to_bytes(3, "little") + (63).to_bytes(3, "little") + bytes(4) + image_chunk(d))), "lies outside the 80x64 canvas"),
        (lambda d: riff(vp8x(80, 64, flags=0x02)), "no frames"),
        (lambda d: riff(vp8x(80, 64), chunk(b"EXIF", b"junk"), image_chunk(d)), "EXIF"),
    ],
    ids=["riff-past-end", "riff-size", "key-frame", "start-code", "first-chunk", "vp8x-ok", "canvas", "no-image", "frame-outside", "no-frames", "junk-exif"],
)
def test_bad_containers_are_named(damage: object, named: str | None) -> None:
    data = damage(webp())  # type: ignore[operator]
    if named is None:
        assert validate_webp(data).width == 80
        return
    with pytest.raises(CorruptImageError, match=named):
        validate_webp(data)


def test_vp8l_header_is_checked() -> None:
    data = webp(lossless=True)
    with pytest.raises(CorruptImageError, match="0x2f signature"):
        validate_webp(data[:20] + b"\x00" + data[21:])
