"""TIFF structure (TIFF 6.0, BigTIFF) for TIFF files and for the EXIF blocks inside JPEG, PNG, WebP.

The image file directory (IFD) chain is walked with every offset checked: directories and their
out-of-line values must lie inside the data, a chain may not loop, and it is bounded
(:data:`MAX_IFDS`). A TIFF file's strips or tiles must lie inside the file, in the number its
size needs. What libtiff or Pillow would be handed is then known to be in bounds.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from imaging.validate_bytes import Bytes, Header

MAX_IFDS = 10_000  # image directories in one chain (pages of a TIFF, IFD0/IFD1 of an EXIF block)
MAX_VALUES = 1 << 22  # values read from one entry (strip offsets of a huge striped image)
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_INTEGER_TYPES = {1: "B", 3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q"}
SUB_IFDS = {0x8769: "Exif", 0x8825: "GPS", 0xA005: "Interoperability", 0x014A: "SubIFDs"}
ORIENTATION = 0x0112
# Compression -> the most raw bytes one compressed byte can stand for (see budget()).
_MAX_RATIOS = {1: (1, "uncompressed"), 32773: (64, "PackBits: 2 bytes per run of 128"),
               8: (1032, "Deflate: 258 bytes per 2 bits"), 32946: (1032, "Deflate: 258 bytes per 2 bits"),
               5: (4096, "LZW: at most one 4096-byte string per 12-bit code")}


@dataclass(frozen=True)
class Entry:
    tag: int
    type: int
    count: int
    position: int  # where the value is: inline in the entry or the offset it names


@dataclass(frozen=True)
class Tiff:
    """A TIFF blob's reader (byte order set) and whether it is BigTIFF."""

    reader: Bytes
    big: bool

    @property
    def slot(self) -> int:
        return 8 if self.big else 4


def open_tiff(data: bytes | memoryview, fmt: str, block: bool = False) -> tuple[Tiff, int]:
    """The TIFF blob and the offset of its first IFD; CorruptImageError for a bad header.

    ``block``: ``data`` is a whole EXIF block (reads past it are corrupt, not truncated)."""
    probe = Bytes(data, fmt, block=block)
    order = probe.take(0, 4, "the TIFF byte-order mark")
    if order[:2] not in (b"II", b"MM"):
        raise probe.fail(f"TIFF block has no byte-order mark (II or MM): {order[:2].hex(' ')}")
    reader = Bytes(data, fmt, little=order[:2] == b"II", block=block)
    magic = reader.u16(2, "the TIFF magic number")
    if magic == 42:
        return Tiff(reader, False), reader.u32(4, "the first IFD offset")
    if magic == 43 and reader.u16(4, "the BigTIFF offset size") == 8:
        return Tiff(reader, True), reader.u64(8, "the first IFD offset")
    raise reader.fail(f"TIFF block has magic number {magic}, not 42 (TIFF) or 43 (BigTIFF)")


def walk(tiff: Tiff, first: int, *, follow_sub_ifds: bool, max_ifds: int = MAX_IFDS) -> list[dict[int, Entry]]:
    """Every IFD of the chain that starts at ``first`` (and, if asked, the sub-IFDs they point to)."""
    reader = tiff.reader
    seen: set[int] = set()
    ifds: list[dict[int, Entry]] = []
    pending = [first]
    while pending:
        offset = pending.pop(0)
        while offset:
            if offset in seen:
                raise reader.fail(f"image directory chain loops back to offset {offset}")
            if len(seen) >= max_ifds:
                raise reader.fail(f"has more than {max_ifds} image directories")
            seen.add(offset)
            entries, offset = _read_ifd(tiff, offset)
            ifds.append(entries)
            if follow_sub_ifds:
                pending += [value for tag in SUB_IFDS if tag in entries for value in values(tiff, entries[tag])]
    return ifds


def _read_ifd(tiff: Tiff, offset: int) -> tuple[dict[int, Entry], int]:
    reader, big = tiff.reader, tiff.big
    if offset < (16 if big else 8):
        raise reader.fail(f"image directory offset {offset} points into the file header")
    count = reader.u64(offset, "the IFD entry count") if big else reader.u16(offset, "the IFD entry count")
    start, size = offset + (8 if big else 2), 20 if big else 12
    reader.need(start, count * size + tiff.slot, f"an image directory of {count} entries")
    entries: dict[int, Entry] = {}
    for index in range(count):
        entry = _read_entry(tiff, start + index * size)
        entries.setdefault(entry.tag, entry)
    following = start + count * size
    return entries, reader.u64(following, "the next IFD offset") if big else reader.u32(following, "the next IFD offset")


def _read_entry(tiff: Tiff, at: int) -> Entry:
    reader, big = tiff.reader, tiff.big
    tag, kind = reader.u16(at, "an IFD entry"), reader.u16(at + 2, "an IFD entry")
    count = reader.u64(at + 4, "an IFD entry") if big else reader.u32(at + 4, "an IFD entry")
    value_at = at + (12 if big else 8)
    size = TYPE_SIZES.get(kind, 0) * count
    if size <= tiff.slot:
        return Entry(tag, kind, count, value_at)
    position = reader.u64(value_at, "an IFD entry") if big else reader.u32(value_at, "an IFD entry")
    if position + size > len(reader):
        raise reader.past_end(f"IFD entry for tag {tag} has {size} bytes of values at offset {position}, outside the {len(reader)} bytes")
    return Entry(tag, kind, count, position)


def values(tiff: Tiff, entry: Entry) -> list[int]:
    """The integer values of ``entry`` (empty for non-integer types)."""
    code = _INTEGER_TYPES.get(entry.type)
    if code is None:
        return []
    if entry.count > MAX_VALUES:
        raise tiff.reader.fail(f"IFD entry for tag {entry.tag} has {entry.count} values, more than {MAX_VALUES}")
    size = TYPE_SIZES[entry.type]
    raw = tiff.reader.take(entry.position, size * entry.count, f"the values of tag {entry.tag}")
    return list(struct.unpack(f"{tiff.reader.order}{entry.count}{code}", raw))


def first_value(tiff: Tiff, entries: dict[int, Entry], tag: int, default: int | None = None) -> int | None:
    found = values(tiff, entries[tag]) if tag in entries else []
    return found[0] if found else default


def exif_orientation(data: bytes | memoryview, fmt: str) -> int | None:
    """Validate an EXIF block (a TIFF structure, after JPEG's "Exif\\0\\0") and return its orientation tag, if any.

    Raises CorruptImageError for a malformed block: bad header, a directory or value outside the
    block, a looping chain.
    """
    if bytes(data[:6]) == b"Exif\x00\x00":  # the APP1 identifier, which some PNG and WebP writers keep
        data = data[6:]
    tiff, first = open_tiff(data, f"{fmt} EXIF", block=True)
    if first == 0:
        raise tiff.reader.fail("block has no first image directory (IFD0 offset 0)")
    ifds = walk(tiff, first, follow_sub_ifds=True, max_ifds=64)
    return first_value(tiff, ifds[0], ORIENTATION)


def validate_tiff(data: bytes | memoryview) -> Header:
    """Check a TIFF file's directory chain and every page's strips or tiles; the first page's size."""
    tiff, first = open_tiff(data, "tiff")
    if first == 0:
        raise tiff.reader.fail("file has no image directory")
    pages = walk(tiff, first, follow_sub_ifds=False)
    headers = [_check_page(tiff, number, page) for number, page in enumerate(pages, start=1)]
    return headers[0]


def _check_page(tiff: Tiff, number: int, page: dict[int, Entry]) -> Header:
    fail = tiff.reader.fail
    width, height = first_value(tiff, page, 256, 0), first_value(tiff, page, 257, 0)
    if not width or not height:
        raise fail(f"page {number} declares an empty image ({width}x{height})")
    samples = first_value(tiff, page, 277, 1) or 0
    bits = values(tiff, page[258]) if 258 in page else [1]
    if not 1 <= samples <= 16 or len(bits) not in (1, samples) or not all(1 <= b <= 64 for b in bits):
        raise fail(f"page {number} has {samples} samples of {bits} bits per pixel")
    planar = first_value(tiff, page, 284, 1)
    planes = samples if planar == 2 else 1
    if 322 in page or 324 in page:
        tile_w, tile_h = first_value(tiff, page, 322, 0) or 0, first_value(tiff, page, 323, 0) or 0
        if not tile_w or not tile_h:
            raise fail(f"page {number} is tiled with an empty tile size ({tile_w}x{tile_h})")
        parts = math.ceil(width / tile_w) * math.ceil(height / tile_h) * planes
        offsets_tag, counts_tag, kind = 324, 325, "tiles"
    else:
        rows = first_value(tiff, page, 278, height) or height
        parts = math.ceil(height / min(rows, height)) * planes
        offsets_tag, counts_tag, kind = 273, 279, "strips"
    if offsets_tag not in page or counts_tag not in page:
        raise fail(f"page {number} has no {kind} (offsets or byte counts missing)")
    offsets, counts = values(tiff, page[offsets_tag]), values(tiff, page[counts_tag])
    if len(offsets) < parts or len(counts) < parts:
        raise fail(f"page {number} needs {parts} {kind} but lists {len(offsets)} offsets and {len(counts)} byte counts")
    for offset, count in zip(offsets[:parts], counts[:parts], strict=True):
        if offset + count > len(tiff.reader):
            where = f"bytes {offset}-{offset + count}"
            raise tiff.reader.past_end(f"page {number} has {kind} at {where}, beyond the {len(tiff.reader)}-byte file")
    return Header(width, height, *budget(first_value(tiff, page, 259, 1) or 1, width * height * sum(bits) // 8))


def budget(compression: int, raw_bytes: int) -> tuple[int, str]:
    """(fewest bytes the strips must hold in total, why) for the compressions with a known ratio.

    Uncompressed strips hold every byte; PackBits codes at most 128 bytes in 2; Deflate at most
    258 bytes per 2 bits (1032:1); LZW emits at most one 4096-byte string per 12-bit code (a
    generous 4096:1). JPEG, CCITT and others: no bound. The dispatcher compares it with the whole
    file (the strips were checked to lie in it).
    """
    ratio, why = _MAX_RATIOS.get(compression, (0, ""))
    if not ratio:
        return 0, ""
    return -(-raw_bytes // ratio), f"TIFF {why}"
