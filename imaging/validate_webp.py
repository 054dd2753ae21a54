"""WebP headers: the RIFF container, the chunk framing and the VP8, VP8L or VP8X header.

RIFF's size must fit the data, every chunk must lie inside it; a VP8 key frame must carry its
start code and a first partition inside the chunk, a VP8L header its signature and version 0;
a VP8X canvas holds at most 2^32 pixels, its still image (VP8/VP8L) has the canvas size and its
animation frames (ANMF) lie inside it; an EXIF chunk must be one well-formed TIFF block.
No byte budget: VP8L codes a flat image with zero-bit Huffman codes, so a few bytes can hold any
size (the pixel limit still applies).
"""

from __future__ import annotations

from imaging.validate_bytes import Bytes, Header
from imaging.validate_tiff import exif_orientation

MAX_CANVAS = 1 << 32  # libwebp's limit on canvas width x height
MAX_CHUNKS = 100_000
ANIMATION_FLAG = 0x02

Chunk = tuple[bytes, Bytes]


def validate_webp(data: bytes | memoryview) -> Header:
    """Check the RIFF framing and the image chunks' headers; the canvas size."""
    reader = Bytes(data, "webp", little=True)
    if reader.take(0, 4, "RIFF") != b"RIFF" or reader.take(8, 4, "WEBP") != b"WEBP":
        raise reader.fail("data is not a RIFF WEBP container")
    size = reader.u32(4, "the RIFF size")
    if size < 4 or size % 2:
        raise reader.fail(f"RIFF size {size} is odd or too small")
    reader.need(8, size, "the RIFF container")
    chunks = _chunks(reader, 12, 8 + size)
    if not chunks:
        raise reader.fail("container has no chunks")
    kind, body = chunks[0]
    if kind == b"VP8X":
        return _extended(reader, body, chunks[1:])
    if kind in (b"VP8 ", b"VP8L"):
        return Header(*_bitstream_size(reader, kind, body))
    raise reader.fail(f"first chunk is {kind!r}, not VP8, VP8L or VP8X")


def _chunks(reader: Bytes, offset: int, end: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    while offset + 8 <= end:
        kind, size = reader.take(offset, 4, "a chunk type"), reader.u32(offset + 4, "a chunk size")
        if offset + 8 + size > end:
            raise reader.fail(f"chunk {kind!r} of {size} bytes runs past its container")
        chunks.append((kind, Bytes(reader.data[offset + 8 : offset + 8 + size], "webp", little=True, block=True)))
        offset += 8 + size + (size & 1)
        if len(chunks) > MAX_CHUNKS:
            raise reader.fail(f"has more than {MAX_CHUNKS} chunks")
    return chunks


def _bitstream_size(reader: Bytes, kind: bytes, body: Bytes) -> tuple[int, int]:
    if kind == b"VP8L":
        bits = body.u32(1, "the VP8L header")
        if body.u8(0, "the VP8L signature") != 0x2F or bits >> 29:
            raise reader.fail("VP8L chunk has no 0x2f signature or a version other than 0")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    tag = body.u8(0, "the VP8 frame tag") | body.u16(1, "the VP8 frame tag") << 8
    if tag & 1 or (tag >> 1) & 7 > 3 or (tag >> 5) > len(body) - 10:
        raise reader.fail("VP8 chunk is not a key frame of version 0-3 with its first partition inside")
    if body.take(3, 3, "the VP8 start code") != b"\x9d\x01\x2a":
        raise reader.fail("VP8 chunk lacks the start code 9d 01 2a")
    width, height = body.u16(6, "the VP8 size") & 0x3FFF, body.u16(8, "the VP8 size") & 0x3FFF
    if not width or not height:
        raise reader.fail(f"VP8 chunk declares an empty image ({width}x{height})")
    return width, height


def _extended(reader: Bytes, header: Bytes, chunks: list[Chunk]) -> Header:
    flags = header.u8(0, "the VP8X flags")
    width = (header.u16(4, "the canvas size") | header.u8(6, "the canvas size") << 16) + 1
    height = (header.u16(7, "the canvas size") | header.u8(9, "the canvas size") << 16) + 1
    if width * height > MAX_CANVAS:
        raise reader.fail(f"VP8X canvas {width}x{height} exceeds {MAX_CANVAS} pixels")
    kinds = [kind for kind, _ in chunks]
    if kinds.count(b"EXIF") > 1:
        raise reader.fail("has more than one EXIF chunk")
    for kind, body in chunks:
        if kind == b"EXIF":
            exif_orientation(body.data, "webp")
        elif kind == b"ANMF":
            _frame(reader, body, width, height)
    if not flags & ANIMATION_FLAG:
        images = [(kind, body) for kind, body in chunks if kind in (b"VP8 ", b"VP8L")]
        if not images:
            raise reader.fail("VP8X container has no image chunk (VP8 or VP8L)")
        size = _bitstream_size(reader, *images[0])
        if size != (width, height):
            raise reader.fail(f"image chunk is {size[0]}x{size[1]} but the canvas is {width}x{height}")
    elif b"ANMF" not in kinds:
        raise reader.fail("animated WebP has no frames (ANMF)")
    return Header(width, height)


def _frame(reader: Bytes, body: Bytes, width: int, height: int) -> None:
    x, y = 2 * _u24(body, 0), 2 * _u24(body, 3)
    frame_w, frame_h = _u24(body, 6) + 1, _u24(body, 9) + 1
    if x + frame_w > width or y + frame_h > height:
        raise reader.fail(f"animation frame {frame_w}x{frame_h} at ({x}, {y}) lies outside the {width}x{height} canvas")
    images = [(kind, chunk) for kind, chunk in _chunks(body, 16, len(body)) if kind in (b"VP8 ", b"VP8L")]
    if not images or _bitstream_size(reader, *images[0]) != (frame_w, frame_h):
        raise reader.fail(f"animation frame {frame_w}x{frame_h} has no image chunk of its size")


def _u24(body: Bytes, offset: int) -> int:
    return body.u16(offset, "a 24-bit field") | body.u8(offset + 2, "a 24-bit field") << 16
