"""JPEG 2000 headers (ISO/IEC 15444-1): the JP2 boxes, the codestream's main header and its
tile-part framing, checked against the standard's ranges before OpenJPEG or nvJPEG2000 see them.

SIZ (A.5.1): a non-empty image, tiles of at least 1x1 covering the image origin (a zero tile
size is a division by zero inside nvImageCodec: measured, the stub dies), 1-4 components (the
decoders output gray, gray+alpha, RGB or RGBA) of 1-38 bits with sub-sampling >= 1, at most 65535
tiles (Isot is 16 bits). COD/COC (A.6.1-2): progression 0-4, at least one layer, at most 32
decomposition levels, code-blocks of 4-1024 samples a side and at most 4096 in all, precincts
of at least 2x2 above resolution 0. QCD present. Every tile-part (SOT) names an existing tile.
JP2: signature, ftyp, jp2h with ihdr agreeing with SIZ, palette (pclr), mapping (cmap) and channel
definition (cdef) boxes consistent with each other. No byte budget: empty code-blocks cost one bit
per packet, so a few bytes can describe any size (the pixel limit still applies).
"""

from __future__ import annotations

from dataclasses import dataclass

from imaging.validate_bytes import Bytes, Header

SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
SOC, SIZ, COD, COC, QCD, SOT, SOD, EOC = 0xFF4F, 0xFF51, 0xFF52, 0xFF53, 0xFF5C, 0xFF90, 0xFF93, 0xFFD9
PPM = 0xFF60
QCC, RGN, CRG = 0xFF5D, 0xFF5E, 0xFF63
# Markers each header may carry (15444-1 Table A.2, with Part 15's CAP/CPF): OpenJPEG skips others
# with "Unknown marker", and a segment it fails to read leaves nvImageCodec's JPEG 2000 decoder
# broken, so that the next JPEG 2000 decode in the process segfaults in its OpenCV extension
# (measured with every marker code in place of a COM). Part 2's multi-component transform markers
# (MCT, MCC, NLT, MCO, CBD: ff74-ff78), which no decoder here applies, are refused with them.
SHARED_MARKERS = frozenset({COD, COC, QCD, QCC, RGN, 0xFF5F, 0xFF64})  # ... POC, COM
MAIN_MARKERS = SHARED_MARKERS | {SIZ, 0xFF50, 0xFF55, 0xFF57, 0xFF59, 0xFF60, CRG}  # CAP TLM PLM CPF PPM
TILE_MARKERS = SHARED_MARKERS | {0xFF58, 0xFF61}  # PLT PPT
MAX_COMPONENTS = 4
MAX_TILES = 65_535
MAX_LEVELS = 32
MAX_BOXES = 10_000


@dataclass(frozen=True)
class Size:
    width: int
    height: int
    components: int
    tiles: int


def validate_jpeg2000(data: bytes | memoryview, fmt: str) -> Header:
    """Check a .jp2 file (boxes, then its codestream) or a bare .j2k codestream; the image size."""
    reader = Bytes(data, fmt)
    if fmt == "jp2":
        boxes = _boxes(reader, 0, len(reader), top=True)
        stream, image = _jp2_boxes(reader, boxes)
        size = _codestream(Bytes(stream.data, fmt))
        _agree(reader, image, size)
    else:
        size = _codestream(reader)
    return Header(size.width, size.height)


def _boxes(reader: Bytes, offset: int, end: int, top: bool = False) -> list[tuple[bytes, Bytes]]:
    boxes: list[tuple[bytes, Bytes]] = []
    while offset < end:
        length, kind = reader.u32(offset, "a box length"), reader.take(offset + 4, 4, "a box type")
        header = 8
        if length == 1:
            length, header = reader.u64(offset + 8, "a box's 64-bit length"), 16
        elif length == 0 and top:
            length = end - offset  # the last box runs to the end of the file
        if length < header:
            raise reader.fail(f"box {kind!r} at byte {offset} has length {length}")
        if kind == b"jp2c" and top:  # the codestream: its own reader decides what a short one means
            boxes.append((kind, Bytes(reader.data[offset + header : min(offset + length, end)], reader.fmt)))
            return boxes
        reader.need(offset, length, f"the {kind!r} box")
        if offset + length > end:
            raise reader.fail(f"box {kind!r} runs past its superbox")
        boxes.append((kind, Bytes(reader.data[offset + header : offset + length], reader.fmt, block=True)))
        offset += length
        if len(boxes) > MAX_BOXES:
            raise reader.fail(f"has more than {MAX_BOXES} boxes")
    return boxes


def _jp2_boxes(reader: Bytes, boxes: list[tuple[bytes, Bytes]]) -> tuple[Bytes, dict[bytes, Bytes]]:
    kinds = [kind for kind, _ in boxes]
    if kinds[:2] != [b"jP  ", b"ftyp"]:
        raise reader.fail(f"file does not start with the signature and ftyp boxes ({kinds[:2]})")
    if b"jp2h" not in kinds or b"jp2c" not in kinds or kinds.index(b"jp2h") > kinds.index(b"jp2c"):
        raise reader.fail("file lacks a header box (jp2h) before its codestream box (jp2c)")
    header = boxes[kinds.index(b"jp2h")][1]
    inner = _boxes(header, 0, len(header))
    image = dict(inner)
    if not inner or inner[0][0] != b"ihdr" or b"colr" not in image:
        raise reader.fail("header box (jp2h) does not start with ihdr or lacks colr")
    return boxes[kinds.index(b"jp2c")][1], image


def _agree(reader: Bytes, image: dict[bytes, Bytes], size: Size) -> None:
    ihdr = image[b"ihdr"]
    height, width, channels = ihdr.u32(0, "ihdr"), ihdr.u32(4, "ihdr"), ihdr.u16(8, "ihdr")
    if (width, height) != (size.width, size.height) or channels != size.components:
        raise reader.fail(
            f"ihdr box says {width}x{height} with {channels} components, the codestream "
            f"{size.width}x{size.height} with {size.components}"
        )
    palette = image.get(b"pclr")
    if (palette is None) != (b"cmap" not in image):
        raise reader.fail("has a palette (pclr) without a component mapping (cmap), or the reverse")
    entries = 0
    if palette is not None:
        entries, columns = palette.u16(0, "pclr"), palette.u8(2, "pclr")
        depths = palette.take(3, columns, "pclr depths")
        row = sum(((depth & 0x7F) + 8) // 8 for depth in depths)
        if not 1 <= entries <= 1024 or not columns or any((d & 0x7F) >= 38 for d in depths) or len(palette) < 3 + columns + entries * row:
            raise reader.fail(f"palette box (pclr) is invalid: {entries} entries of {columns} columns in {len(palette)} bytes")
        _mapping(reader, image[b"cmap"], size.components, columns)
    if b"cdef" in image:
        _channels(reader, image[b"cdef"], size.components if palette is None else len(image[b"cmap"]) // 4)


def _mapping(reader: Bytes, cmap: Bytes, components: int, columns: int) -> None:
    if len(cmap) % 4 or not cmap:
        raise reader.fail(f"component mapping box (cmap) is {len(cmap)} bytes, not a multiple of 4")
    for at in range(0, len(cmap), 4):
        component, kind, column = cmap.u16(at, "cmap"), cmap.u8(at + 2, "cmap"), cmap.u8(at + 3, "cmap")
        if component >= components or kind > 1 or (kind == 1 and column >= columns):
            raise reader.fail(f"component mapping (cmap) names component {component}, type {kind}, palette column {column}")


def _channels(reader: Bytes, cdef: Bytes, channels: int) -> None:
    count = cdef.u16(0, "cdef")
    if len(cdef) != 2 + 6 * count:
        raise reader.fail(f"channel definition box (cdef) of {count} entries is {len(cdef)} bytes")
    for at in range(2, len(cdef), 6):
        if cdef.u16(at, "cdef") >= channels:
            raise reader.fail(f"channel definition (cdef) names channel {cdef.u16(at, 'cdef')} of {channels}")


def _codestream(reader: Bytes) -> Size:
    if reader.u16(0, "SOC") != SOC:
        raise reader.fail("codestream does not start with SOC (ff4f)")
    if reader.u16(2, "SIZ") != SIZ:
        raise reader.fail(f"main header lacks its SIZ or COD segment: SIZ must follow SOC, found {reader.u16(2, 'SIZ'):04x}")
    size, offset, seen = None, 2, set()
    packed: list[tuple[int, memoryview]] = []
    while True:
        marker, length = reader.u16(offset, "a marker"), reader.u16(offset + 2, "a marker length")
        if marker == SOT:
            break
        if marker not in MAIN_MARKERS or length < 2:
            raise reader.fail(f"main header has a bad marker {marker:04x} (length {length}) at byte {offset}")
        segment = Bytes(reader.take(offset + 4, length - 2, f"marker {marker:04x}"), reader.fmt, block=True)
        if marker == SIZ:
            size = _siz(reader, segment)
        elif marker in (COD, COC):
            _coding_style(reader, marker, segment, size)
        elif marker == PPM:
            packed.append((segment.u8(0, "Zppm"), segment.data[1:]))
        else:
            _segment_shape(reader, marker, segment, size)
        seen.add(marker)
        offset += 2 + length
    if size is None or COD not in seen or QCD not in seen:
        raise reader.fail("main header lacks SIZ, COD or QCD")
    _packed_headers(reader, packed)
    _tile_parts(reader, offset, size)
    return size


def _segment_shape(reader: Bytes, marker: int, segment: Bytes, size: Size | None) -> None:
    """QCD/QCC (A.6.4-5): style 0-2 and one value per subband of 0-32 levels (one for style 1);
    RGN (A.6.3): an existing component, the implicit style 0; CRG (A.9.1): 4 bytes a component."""
    if size is None:
        raise reader.fail(f"main header has marker {marker:04x} before SIZ")
    if marker in (QCD, QCC):
        first = 1 if marker == QCC else 0
        if first and segment.u8(0, "Cqcc") >= size.components:
            raise reader.fail(f"QCC names component {segment.u8(0, 'Cqcc')} of {size.components}")
        style, values = segment.u8(first, "Sqcd") & 0x1F, len(segment) - first - 1
        counts = {0: values, 1: 1 if values == 2 else 0, 2: values // 2 if values % 2 == 0 else 0}.get(style, 0)
        if counts % 3 != 1 or counts > 3 * MAX_LEVELS + 1:
            raise reader.fail(f"quantisation segment {marker:04x} has style {style} with {values} bytes of values")
    elif marker == RGN:
        if len(segment) != 3 or segment.u8(0, "Crgn") >= size.components or segment.u8(1, "Srgn"):
            raise reader.fail(f"RGN of {len(segment) + 2} bytes names component {segment.u8(0, 'Crgn')} with style {segment.u8(1, 'Srgn')}")
    elif marker == CRG and len(segment) != 4 * size.components:
        raise reader.fail(f"CRG is {len(segment) + 2} bytes for {size.components} components")


def _packed_headers(reader: Bytes, packed: list[tuple[int, memoryview]]) -> None:
    """PPM segments (A.7.4): distinct indices, and their data, joined in index order, exactly a run
    of (Nppm, Nppm bytes) records. A PPM that fails OpenJPEG's merge leaves nvImageCodec's JPEG
    2000 decoder broken: the next JPEG 2000 decode in that process segfaults (measured)."""
    if not packed:
        return
    indices = [index for index, _ in packed]
    if len(set(indices)) != len(indices):
        raise reader.fail(f"main header repeats a PPM index: {sorted(indices)}")
    data = b"".join(bytes(chunk) for _, chunk in sorted(packed, key=lambda item: item[0]))
    joined, at = Bytes(data, reader.fmt, block=True), 0
    while at < len(data):
        at += 4 + joined.u32(at, "a PPM record length (Nppm)")
    if at != len(data):
        raise reader.fail(f"PPM packet headers run {at - len(data)} bytes past their {len(data)} bytes")


def _siz(reader: Bytes, siz: Bytes) -> Size:
    xsiz, ysiz, x0, y0 = (siz.u32(2 + 4 * k, "SIZ") for k in range(4))
    tile_w, tile_h, tile_x0, tile_y0 = (siz.u32(18 + 4 * k, "SIZ") for k in range(4))
    count = siz.u16(34, "SIZ")
    if xsiz <= x0 or ysiz <= y0:
        raise reader.fail(f"SIZ declares an empty image ({xsiz - x0}x{ysiz - y0})")
    if not tile_w or not tile_h or tile_x0 > x0 or tile_y0 > y0 or tile_x0 + tile_w <= x0 or tile_y0 + tile_h <= y0:
        grid = f"tiles of {tile_w}x{tile_h} at ({tile_x0}, {tile_y0})"
        raise reader.fail(f"SIZ declares {grid} that do not cover the image origin ({x0}, {y0})")
    if not 1 <= count <= MAX_COMPONENTS or len(siz) != 36 + 3 * count:
        raise reader.fail(f"SIZ declares {count} components in {len(siz) + 2} bytes (1-{MAX_COMPONENTS} are decoded)")
    for index in range(count):
        depth, dx, dy = (siz.u8(36 + 3 * index + k, "SIZ component") for k in range(3))
        if (depth & 0x7F) >= 38 or not dx or not dy:
            raise reader.fail(f"SIZ component {index} has {(depth & 0x7F) + 1} bits and sub-sampling {dx}x{dy}")
    tiles = -(-(xsiz - tile_x0) // tile_w) * -(-(ysiz - tile_y0) // tile_h)
    if tiles > MAX_TILES:
        raise reader.fail(f"SIZ declares {tiles} tiles; at most {MAX_TILES} can be numbered")
    return Size(xsiz - x0, ysiz - y0, count, tiles)


def _coding_style(reader: Bytes, marker: int, segment: Bytes, size: Size | None) -> None:
    if size is None:
        raise reader.fail("main header has COD or COC before SIZ")
    if marker == COD:
        style, progression, layers, transform = segment.u8(0, "COD"), segment.u8(1, "COD"), segment.u16(2, "COD"), segment.u8(4, "COD")
        if style & ~0x07 or progression > 4 or not layers or transform > 1:
            raise reader.fail(f"COD has style {style}, progression {progression}, {layers} layers, transform {transform}")
        _code_blocks(reader, segment, 5, style & 1)
        return
    wide = size.components > 256
    component = segment.u16(0, "COC") if wide else segment.u8(0, "COC")
    if component >= size.components or segment.u8(1 + wide, "COC") & ~0x01:
        raise reader.fail(f"COC names component {component} of {size.components} or has a bad style")
    _code_blocks(reader, segment, 2 + wide, segment.u8(1 + wide, "COC") & 1)


def _code_blocks(reader: Bytes, segment: Bytes, at: int, precincts: int) -> None:
    levels, width, height = segment.u8(at, "SPcod"), segment.u8(at + 1, "SPcod") + 2, segment.u8(at + 2, "SPcod") + 2
    block_style, transform = segment.u8(at + 3, "SPcod"), segment.u8(at + 4, "SPcod")
    if levels > MAX_LEVELS or width > 10 or height > 10 or width + height > 12 or block_style & 0x80 or transform > 1:
        raise reader.fail(f"coding style has {levels} levels, code-blocks 2^{width}x2^{height}, style {block_style}, transform {transform}")
    if len(segment) != at + 5 + (levels + 1 if precincts else 0):
        raise reader.fail(f"coding style segment is {len(segment) + 2} bytes for {levels} levels")
    for level in range(1, levels + 1 if precincts else 0):
        exponents = segment.u8(at + 5 + level, "precinct sizes")
        if not exponents & 0x0F or not exponents >> 4:
            raise reader.fail(f"precincts of resolution {level} are 2^{exponents & 0x0F}x2^{exponents >> 4}")


def _tile_parts(reader: Bytes, offset: int, size: Size) -> None:
    """Each tile-part header in turn (a codestream cut short ends the walk: decoders accept that)."""
    while offset + 12 <= len(reader):
        marker = reader.u16(offset, "a tile-part marker")
        if marker == EOC:
            return
        if marker != SOT or reader.u16(offset + 2, "SOT") != 10:
            found = f"marker {marker:04x} of length {reader.u16(offset + 2, 'SOT')}"
            raise reader.fail(f"tile-part header at byte {offset} is corrupt: {found}, not SOT (ff90) of length 10")
        tile, length = reader.u16(offset + 4, "SOT"), reader.u32(offset + 6, "SOT")
        if tile >= size.tiles or (length and length < 14):
            raise reader.fail(f"tile-part at byte {offset} names tile {tile} of {size.tiles} with length {length}")
        _tile_part_header(reader, offset + 12, offset + length if length else len(reader), size)
        if not length:
            return  # the last tile-part runs to EOC
        offset += length


def _tile_part_header(reader: Bytes, offset: int, end: int, size: Size) -> None:
    """The markers between SOT and SOD: allowed in a tile-part header, inside the tile-part."""
    while offset + 2 <= min(end, len(reader)):
        marker = reader.u16(offset, "a tile-part header marker")
        if marker == SOD:
            return
        length = reader.u16(offset + 2, "a marker length") if offset + 4 <= len(reader) else 2
        if marker not in TILE_MARKERS or length < 2 or offset + 2 + length > end:
            raise reader.fail(f"tile-part header has a bad marker {marker:04x} (length {length}) at byte {offset}")
        if offset + 2 + length <= len(reader):
            segment = Bytes(reader.take(offset + 4, length - 2, f"marker {marker:04x}"), reader.fmt, block=True)
            check = _coding_style if marker in (COD, COC) else _segment_shape
            check(reader, marker, segment, size)
        offset += 2 + length
