"""BMP headers: the file header, a known DIB header size, dimensions, bit depth and compression,
pixel data inside the file, and the byte budget of uncompressed rows.

Only Pillow decodes BMP; it allocates the whole image before reading rows, so a 100-byte file
claiming 10000x10000 pixels would cost 300 MB before failing. Uncompressed (BI_RGB, BI_BITFIELDS)
rows are stored whole, 4-byte aligned: the file must hold them all (but the last row's padding). RLE rows can skip pixels with
delta escapes: no bound.
"""

from __future__ import annotations

from imaging.validate_bytes import Bytes, Header

DIB_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})  # OS/2 1.x, BITMAPINFOHEADER ... V5
DEPTHS = frozenset({1, 2, 4, 8, 16, 24, 32})
UNCOMPRESSED = frozenset({0, 3, 6})  # BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS
RLE = {1: 8, 2: 4}  # BI_RLE8 and BI_RLE4 with the depth each needs
MAX_SIDE = 1 << 20


def validate_bmp(data: bytes | memoryview) -> Header:
    """Check the headers; the size and, for uncompressed rows, the bytes they need."""
    reader = Bytes(data, "bmp", little=True)
    offset, dib = reader.u32(10, "the pixel data offset"), reader.u32(14, "the DIB header size")
    if dib not in DIB_SIZES:
        raise reader.fail(f"DIB header size {dib} is not one of {sorted(DIB_SIZES)}")
    if dib == 12:
        width, height, depth, compression = reader.u16(18, "the size"), reader.u16(20, "the size"), reader.u16(24, "the depth"), 0
    else:
        width, raw_height = reader.u32(18, "the width"), reader.u32(22, "the height")
        height = (1 << 32) - raw_height if raw_height >> 31 else raw_height  # negative: stored top-down
        depth, compression = reader.u16(28, "the depth"), reader.u32(30, "the compression")
    if not 1 <= width <= MAX_SIDE or not 1 <= height <= MAX_SIDE:
        raise reader.fail(f"header declares an invalid size {width}x{height}")
    if depth not in DEPTHS or (compression not in UNCOMPRESSED and RLE.get(compression) != depth):
        raise reader.fail(f"header declares {depth}-bit pixels with compression {compression}")
    if not 14 + dib <= offset <= len(reader):
        raise reader.past_end(f"pixel data offset {offset} lies outside the headers and the {len(reader)}-byte file")
    if compression not in UNCOMPRESSED:
        return Header(width, height)
    row = (width * depth + 31) // 32 * 4
    last_row = (width * depth + 7) // 8  # some writers leave out the last row's padding
    return Header(width, height, offset + row * (height - 1) + last_row, "uncompressed BMP: every row stored")
