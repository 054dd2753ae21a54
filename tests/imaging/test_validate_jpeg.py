"""JPEG marker walk: each refused field named; EXIF orientations compared across blocks."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from imaging.errors import CorruptImageError
from imaging.validate_jpeg import validate_jpeg
from tests.crashers import jpeg_with_exif


def small_jpeg(**options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def patched(data: bytes, marker: bytes, offset: int, value: bytes) -> bytes:
    """``value`` written ``offset`` bytes into the first segment with ``marker`` (after the marker)."""
    at = data.index(marker) + 2 + offset
    return data[:at] + value + data[at + len(value) :]


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: patched(d, b"\xff\xc0", 3, struct.pack(">H", 0)), r"empty image \(64x0\)"),
        (lambda d: patched(d, b"\xff\xc0", 7, b"\x05"), "declares 5 components"),
        (lambda d: patched(d, b"\xff\xc0", 9, b"\x00"), r"sampling 0x0"),
        (lambda d: patched(patched(d, b"\xff\xc0", 9, b"\x33"), b"\xff\xc0", 12, b"\x22"), "not integer ratios"),
        (lambda d: patched(d, b"\xff\xc0", 10, b"\x07"), "table 7"),
        (lambda d: patched(d, b"\xff\xdb", 2, b"\x25"), "precision 2 and index 5"),
        (lambda d: patched(d, b"\xff\xc4", 3, b"\x03\x07"), "invalid code counts"),
        (lambda d: patched(d, b"\xff\xda", 3, b"\x09"), r"scan names components \[9"),
        (lambda d: d.replace(b"\xff\xdb", b"\xff\xd9", 1), r"ends \(EOI\) before any scan"),
        (lambda d: d[:2] + d[d.index(b"\xff\xc0") :], "quantisation table 0 is used but never defined"),
        (lambda d: patched(d, b"\xff\xc0", 0, b"\x00\x01"), "length 1"),
        (lambda d: d[:300], "truncated"),
    ],
    ids=["zero-height", "5-components", "zero-sampling", "odd-ratio", "quant-index", "dqt", "dht-oversubscribed", "scan-component", "no-scan", "no-dqt", "short-length", "cut"],
)
def test_bad_fields_are_named(damage: object, named: str) -> None:
    with pytest.raises(CorruptImageError, match=named):
        validate_jpeg(damage(small_jpeg()))  # type: ignore[operator]


def test_a_second_frame_header_is_refused() -> None:
    data = small_jpeg()
    sof = data.index(b"\xff\xc0")
    length = struct.unpack(">H", data[sof + 2 : sof + 4])[0]
    with pytest.raises(CorruptImageError, match="second frame header"):
        validate_jpeg(data[: sof + 2 + length] + data[sof : sof + 2 + length] + data[sof + 2 + length :])


@pytest.mark.parametrize("orientations", [(6,), (6, 6), (1, 1), (3, None)], ids=["one", "agreeing", "agreeing-upright", "one-unstated"])
def test_agreeing_exif_blocks_pass(orientations: tuple[int | None, ...]) -> None:
    data = jpeg_with_exif(*[value for value in orientations if value is not None])
    assert (validate_jpeg(data).width, validate_jpeg(data).height) == (384, 512)


@pytest.mark.parametrize("orientations", [(1, 6), (6, 1), (2, 4), (6, 6, 8)])
def test_conflicting_exif_orientations_are_refused(orientations: tuple[int, ...]) -> None:
    with pytest.raises(CorruptImageError, match="conflicting orientations"):
        validate_jpeg(jpeg_with_exif(*orientations))


@pytest.mark.parametrize(
    ("tiff", "named"),
    [
        (b"XX\x00\x2a" + struct.pack(">I", 8), "byte-order mark"),
        (b"MM\x00\x2b" + struct.pack(">I", 8), "magic number 43"),
        (b"MM\x00\x2a" + struct.pack(">I", 4000), "too short for the IFD entry count"),
        (b"MM\x00\x2a" + struct.pack(">IHHHII", 8, 1, 0x010F, 2, 500, 200) + struct.pack(">I", 0), "500 bytes of values at offset 200"),
        (b"MM\x00\x2a" + struct.pack(">IHHHIHHI", 8, 1, 0x0112, 3, 1, 6, 0, 8), "loops back to offset 8"),
    ],
    ids=["byte-order", "magic", "ifd-outside", "values-outside", "loop"],
)
def test_malformed_exif_blocks_are_refused(tiff: bytes, named: str) -> None:
    body = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", 2 + len(body)) + body
    data = small_jpeg()
    with pytest.raises(CorruptImageError, match=named):
        validate_jpeg(data[:2] + segment + data[2:])


def test_budgets_hold_for_the_tightest_real_encodings() -> None:
    flat = Image.new("L", (4000, 3000))
    for options in ({"optimize": True}, {"progressive": True, "optimize": True}):
        buffer = io.BytesIO()
        flat.save(buffer, format="JPEG", **options)
        header = validate_jpeg(buffer.getvalue())
        assert 0.9 * len(buffer.getvalue()) <= header.min_bytes * (2 if "progressive" in options else 1) <= len(buffer.getvalue())
