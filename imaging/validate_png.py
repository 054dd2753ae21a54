"""PNG headers: the signature, IHDR (first, 13 bytes, valid CRC, legal field values) and the
chunk walk (lengths inside the file, PLTE where the colour type needs it, at least one IDAT before
IEND, EXIF blocks well formed and at most one)."""

from __future__ import annotations

import zlib

from imaging.validate_bytes import Bytes, Header
from imaging.validate_tiff import exif_orientation

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_SIDE = (1 << 31) - 1  # PNG's own limit on width and height
DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}  # colour type -> bit depths
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
DEFLATE_MAX_RATIO = 1032  # 258 bytes (the longest match) per 2 bits (1-bit length and distance codes)


def validate_png(data: bytes | memoryview) -> Header:
    """Check the signature, IHDR and every chunk's framing; the size and its Deflate budget."""
    reader = Bytes(data, "png")
    if reader.take(0, 8, "the signature") != SIGNATURE:
        raise reader.fail("data does not start with the PNG signature")
    header = _ihdr(reader)
    _walk_chunks(reader, colour_type=reader.u8(25, "IHDR"))
    return header


def _ihdr(reader: Bytes) -> Header:
    length, kind = reader.u32(8, "IHDR"), reader.take(12, 4, "IHDR")
    if kind != b"IHDR" or length != 13:
        raise reader.fail(f"first chunk is {kind!r} of {length} bytes, not IHDR of 13")
    body = reader.take(12, 17, "IHDR")
    if zlib.crc32(body) != reader.u32(29, "the IHDR CRC"):
        raise reader.fail("IHDR chunk fails its CRC")
    width, height = reader.u32(16, "IHDR"), reader.u32(20, "IHDR")
    depth, colour, compression, filtering, interlace = reader.take(24, 5, "IHDR")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise reader.fail(f"IHDR declares an invalid size {width}x{height}")
    if depth not in DEPTHS.get(colour, ()):
        raise reader.fail(f"IHDR declares colour type {colour} with bit depth {depth}")
    if compression or filtering or interlace > 1:
        raise reader.fail(f"IHDR declares compression {compression}, filter {filtering}, interlace {interlace}")
    raw_bytes = width * height * CHANNELS[colour] * depth // 8
    why = f"PNG Deflate: at most {DEFLATE_MAX_RATIO}:1 of the {raw_bytes} pixel bytes"
    return Header(width, height, -(-raw_bytes // DEFLATE_MAX_RATIO), why)


def _walk_chunks(reader: Bytes, colour_type: int) -> None:
    offset, seen = 33, set[bytes]()
    while True:
        length, kind = reader.u32(offset, "a chunk length"), reader.take(offset + 4, 4, "a chunk type")
        if length > MAX_SIDE:
            raise reader.fail(f"chunk {kind!r} at byte {offset} declares {length} bytes")
        if not kind.isalpha():
            raise reader.fail(f"chunk at byte {offset} has an invalid type {kind!r}")
        reader.need(offset + 8, length + 4, f"the {kind.decode('latin-1')} chunk")
        body = Bytes(reader.data[offset + 8 : offset + 8 + length], "png", block=True)
        _check_chunk(reader, kind, body, seen, colour_type)
        seen.add(kind)
        if kind == b"IEND":
            return
        offset += 12 + length


def _check_chunk(reader: Bytes, kind: bytes, body: Bytes, seen: set[bytes], colour_type: int) -> None:
    if kind == b"IHDR":
        raise reader.fail("has a second IHDR chunk")
    if kind == b"PLTE" and (len(body) % 3 or not 3 <= len(body) <= 768 or b"IDAT" in seen):
        raise reader.fail(f"PLTE chunk of {len(body)} bytes (3-768, a multiple of 3, before IDAT)")
    if kind == b"IDAT" and colour_type == 3 and b"PLTE" not in seen:
        raise reader.fail("palette image has no PLTE chunk before its IDAT")
    if kind == b"IEND" and b"IDAT" not in seen:
        raise reader.fail("ends (IEND) without image data (IDAT)")
    if kind == b"eXIf":
        if kind in seen:
            raise reader.fail("has more than one eXIf chunk")
        exif_orientation(body.data, "png")
