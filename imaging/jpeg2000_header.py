"""JPEG 2000 headers read without decoding: the JP2 box walk and the codestream's SIZ and COD.

Enough of ISO/IEC 15444-1 to describe a file (size, components, bit depth, tiles, wavelet levels,
reversible or not) and to pull the raw codestream (.j2k) out of a JP2 container.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from imaging.errors import CorruptImageError, UnsupportedFormatError

JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
SOC = b"\xff\x4f"
_SIZ, _COD, _SOT, _SOD = 0xFF51, 0xFF52, 0xFF90, 0xFF93


@dataclass(frozen=True)
class Jpeg2000Header:
    container: str  # "jp2" (boxes around the codestream) or "j2k" (the bare codestream)
    width: int
    height: int
    components: int
    bits: int  # the largest component precision, 1-38
    signed: bool
    tile_width: int
    tile_height: int
    levels: int  # wavelet decompositions: a decode may halve the resolution this many times
    layers: int  # quality layers
    reversible: bool  # 5/3 wavelet (lossless-capable); False for the 9/7 irreversible one

    @property
    def tiles(self) -> int:
        across = -(-self.width // self.tile_width)
        down = -(-self.height // self.tile_height)
        return across * down


def read_header(data: bytes) -> Jpeg2000Header:
    """The header of a .jp2 or .j2k file; CorruptImageError when it is truncated or inconsistent."""
    container = "jp2" if bytes(data[:12]) == JP2_SIGNATURE else "j2k"
    stream = codestream(data)
    try:
        siz, cod = _main_header_segments(stream)
        return _describe(container, siz, cod)
    except (struct.error, IndexError) as exc:
        raise CorruptImageError(f"{container} codestream header is truncated: {exc}") from exc


def codestream(data: bytes) -> memoryview:
    """The raw codestream: ``data`` itself for .j2k, the contents of the jp2c box for .jp2."""
    view = memoryview(data)
    if bytes(view[:2]) == SOC:
        return view
    if bytes(view[:12]) != JP2_SIGNATURE:
        raise UnsupportedFormatError("not JPEG 2000: neither a JP2 signature nor a codestream")
    offset = 0
    while offset + 8 <= len(view):
        length, kind = struct.unpack(">I4s", view[offset : offset + 8])
        header = 8
        if length == 1:  # a 64-bit length follows the type
            if offset + 16 > len(view):
                break
            (length,) = struct.unpack(">Q", view[offset + 8 : offset + 16])
            header = 16
        elif length == 0:  # the box runs to the end of the file
            length = len(view) - offset
        if kind == b"jp2c":
            return view[offset + header : offset + length]
        if length < header:
            break
        offset += length
    raise CorruptImageError("jp2 file has no contiguous codestream box (jp2c)")


def _main_header_segments(stream: memoryview) -> tuple[memoryview, memoryview]:
    """The SIZ and COD marker segments (without marker and length) of the main header."""
    if bytes(stream[:2]) != SOC:
        raise CorruptImageError("JPEG 2000 codestream does not start with SOC (ff4f)")
    found: dict[int, memoryview] = {}
    offset = 2
    while offset + 4 <= len(stream) and len(found) < 2:
        marker, length = struct.unpack(">HH", stream[offset : offset + 4])
        if marker in (_SOT, _SOD) or length < 2:
            break
        if offset + 2 + length > len(stream):
            raise CorruptImageError("JPEG 2000 main header is truncated")
        if marker in (_SIZ, _COD):
            found[marker] = stream[offset + 4 : offset + 2 + length]
        offset += 2 + length
    if _SIZ not in found or _COD not in found:
        raise CorruptImageError("JPEG 2000 main header lacks its SIZ or COD segment")
    return found[_SIZ], found[_COD]


def _describe(container: str, siz: memoryview, cod: memoryview) -> Jpeg2000Header:
    _, xsiz, ysiz, x_offset, y_offset, tile_w, tile_h, _, _, count = struct.unpack(
        ">HIIIIIIIIH", siz[:36]
    )
    depths = [siz[36 + 3 * index] for index in range(count)]
    _, _, layers, _ = struct.unpack(">BBHB", cod[:5])  # Scod, progression, layers, MCT
    levels, transform = cod[5], cod[9]
    width, height = xsiz - x_offset, ysiz - y_offset
    if width <= 0 or height <= 0 or count == 0 or tile_w == 0 or tile_h == 0:
        raise CorruptImageError(f"{container} header declares an empty image ({width}x{height})")
    return Jpeg2000Header(
        container=container,
        width=width,
        height=height,
        components=count,
        bits=max((depth & 0x7F) + 1 for depth in depths),
        signed=any(depth & 0x80 for depth in depths),
        tile_width=min(tile_w, width),
        tile_height=min(tile_h, height),
        levels=levels,
        layers=layers,
        reversible=transform == 1,
    )


def reduced_size(width: int, height: int, reduce: int) -> tuple[int, int]:
    """(width, height) after ``reduce`` halvings, as JPEG 2000 rounds them (up)."""
    factor = 1 << reduce
    return -(-width // factor), -(-height // factor)
