"""JPEG (ITU-T T.81) headers: the marker walk up to the first scan, checked field by field.

Refused: a segment running past the data, a second frame header, a frame (SOF) with an empty size,
0 or more than 4 components, sampling factors outside 1-4 or not dividing the largest (libjpeg's
odd-ratio upsamplers were a source of memory errors), a table (DQT, DHT) with a bad class, index
or length, a Huffman table whose codes oversubscribe, a scan (SOS) naming a component or table
that is not defined, and EXIF blocks (APP1) that are malformed or disagree on the orientation:
nvImageCodec sizes its output from the first and rotates by the last (measured: a segfault).
Quantisation tables the frame uses must be defined (DQT); Huffman tables (DHT) may be absent:
libjpeg-turbo's standard tables stand in, as for Motion JPEG frames (measured: decoded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from imaging.validate_bytes import Bytes, Header
from imaging.validate_tiff import exif_orientation

SOI, EOI, SOS, DQT, DHT, APP1 = 0xD8, 0xD9, 0xDA, 0xDB, 0xC4, 0xE1
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
LOSSLESS = frozenset({0xC3, 0xC7, 0xCB, 0xCF})
ARITHMETIC = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn carry no length
EXIF_ID = b"Exif\x00\x00"


@dataclass
class Frame:
    marker: int
    width: int
    height: int
    components: dict[int, tuple[int, int, int]]  # id -> (h, v, quantisation table)


@dataclass
class State:
    frame: Frame | None = None
    quant_tables: set[int] = field(default_factory=set)
    huffman_tables: set[tuple[int, int]] = field(default_factory=set)
    orientations: list[int | None] = field(default_factory=list)


def validate_jpeg(data: bytes | memoryview) -> Header:
    """Walk the markers from SOI to the first SOS; the frame's size and the budget it implies."""
    reader = Bytes(data, "jpeg")
    if reader.take(0, 2, "SOI") != b"\xff\xd8":
        raise reader.fail("data does not start with SOI (ffd8)")
    state, offset = State(), 2
    while True:
        marker, offset = _next_marker(reader, offset)
        if marker == EOI:
            raise reader.fail("ends (EOI) before any scan: there is no image data")
        if marker in STANDALONE or marker == SOI:
            continue
        length = reader.u16(offset, f"the length of marker ff{marker:02x}")
        if length < 2:
            raise reader.fail(f"marker ff{marker:02x} has length {length} (at least 2)")
        segment = Bytes(reader.take(offset + 2, length - 2, f"the ff{marker:02x} segment"), "jpeg", block=True)
        if marker == SOS:
            frame, scanned = _check_scan(reader, segment, state)
            return Header(frame.width, frame.height, *budget(frame, scanned, segment.u8(1 + 2 * len(scanned), "SOS")))
        _check_segment(reader, marker, segment, state)
        offset += length


def _next_marker(reader: Bytes, offset: int) -> tuple[int, int]:
    if reader.u8(offset, "a marker") != 0xFF:
        raise reader.fail(f"expected a marker at byte {offset}, found {reader.u8(offset, 'a marker'):02x}")
    while reader.u8(offset, "a marker") == 0xFF:  # fill bytes may precede a marker
        offset += 1
    marker = reader.u8(offset, "a marker")
    if marker == 0:
        raise reader.fail(f"has a stray ff00 at byte {offset - 1} in its header")
    return marker, offset + 1


def _check_segment(reader: Bytes, marker: int, segment: Bytes, state: State) -> None:
    if marker in SOF_MARKERS:
        if state.frame is not None:
            raise reader.fail("has a second frame header (SOF) before its first scan")
        state.frame = _frame(reader, marker, segment)
    elif marker == DQT:
        _quant_tables(reader, segment, state)
    elif marker == DHT:
        _huffman_tables(reader, segment, state)
    elif marker == APP1 and segment.take(0, min(6, len(segment)), "APP1") == EXIF_ID:
        state.orientations.append(exif_orientation(segment.data, "jpeg"))
        _check_orientations(reader, state.orientations)


def _frame(reader: Bytes, marker: int, segment: Bytes) -> Frame:
    precision, height, width = segment.u8(0, "SOF"), segment.u16(1, "SOF"), segment.u16(3, "SOF")
    count = segment.u8(5, "SOF")
    if width == 0 or height == 0:
        raise reader.fail(f"frame header declares an empty image ({width}x{height})")
    if not 1 <= count <= 4:
        raise reader.fail(f"frame header declares {count} components (1-4 are decoded)")
    if len(segment) != 6 + 3 * count:
        raise reader.fail(f"frame header is {len(segment) + 2} bytes long; {count} components need {8 + 3 * count}")
    if not 2 <= precision <= 16:
        raise reader.fail(f"frame header declares {precision}-bit samples")
    components: dict[int, tuple[int, int, int]] = {}
    for index in range(count):
        ident, sampling, table = (segment.u8(6 + 3 * index + k, "SOF component") for k in range(3))
        h, v = sampling >> 4, sampling & 0x0F
        if ident in components or not (1 <= h <= 4 and 1 <= v <= 4) or table > 3:
            raise reader.fail(f"frame component {ident} is invalid (sampling {h}x{v}, table {table}, or a repeated id)")
        components[ident] = (h, v, table)
    h_max = max(h for h, _, _ in components.values())
    v_max = max(v for _, v, _ in components.values())
    if any(h_max % h or v_max % v for h, v, _ in components.values()):
        raise reader.fail(f"frame sampling factors {[(h, v) for h, v, _ in components.values()]} are not integer ratios")
    return Frame(marker, width, height, components)


def _quant_tables(reader: Bytes, segment: Bytes, state: State) -> None:
    offset = 0
    while offset < len(segment):
        spec = segment.u8(offset, "DQT")
        precision, index = spec >> 4, spec & 0x0F
        if precision > 1 or index > 3:
            raise reader.fail(f"quantisation table has precision {precision} and index {index} (0-1, 0-3)")
        offset += 1 + 64 * (precision + 1)
        segment.need(0, offset, "a quantisation table")
        state.quant_tables.add(index)


def _huffman_tables(reader: Bytes, segment: Bytes, state: State) -> None:
    offset = 0
    while offset < len(segment):
        spec = segment.u8(offset, "DHT")
        kind, index = spec >> 4, spec & 0x0F
        if kind > 1 or index > 3:
            raise reader.fail(f"Huffman table has class {kind} and index {index} (0-1, 0-3)")
        counts = segment.take(offset + 1, 16, "Huffman code counts")
        symbols = sum(counts)
        if symbols == 0 or symbols > 256 or _oversubscribed(counts):
            raise reader.fail(f"Huffman table {kind}/{index} has invalid code counts {list(counts)}")
        offset += 17 + symbols
        segment.need(0, offset, "Huffman symbols")
        state.huffman_tables.add((kind, index))


def _oversubscribed(counts: bytes) -> bool:
    """True when the counts need more codes of some length than a prefix code can have."""
    available = 1
    for count in counts:
        available = 2 * available - count
        if available < 0:
            return True
    return False


def _check_orientations(reader: Bytes, orientations: list[int | None]) -> None:
    stated = [value for value in orientations if value is not None]
    if len(set(stated)) > 1:
        raise reader.fail(f"has {len(orientations)} EXIF blocks with conflicting orientations {stated}")


def _check_scan(reader: Bytes, segment: Bytes, state: State) -> tuple[Frame, list[int]]:
    """The frame and the component ids of the first scan, checked against the tables defined."""
    frame = state.frame
    if frame is None:
        raise reader.fail("has a scan (SOS) before any frame header (SOF)")
    count = segment.u8(0, "SOS")
    if not 1 <= count <= 4 or len(segment) != 4 + 2 * count:
        raise reader.fail(f"scan header declares {count} components in {len(segment) + 2} bytes")
    scanned = [segment.u8(1 + 2 * index, "SOS component") for index in range(count)]
    unknown = [ident for ident in scanned if ident not in frame.components]
    if unknown or len(set(scanned)) != count:
        raise reader.fail(f"scan names components {scanned}; the frame has {sorted(frame.components)}")
    missing = sorted({table for _, _, table in frame.components.values()} - state.quant_tables)
    if missing and frame.marker not in LOSSLESS:
        raise reader.fail(f"quantisation table {missing[0]} is used but never defined (DQT)")
    return frame, scanned


def budget(frame: Frame, scanned: list[int], spectral_start: int) -> tuple[int, str]:
    """(fewest bytes that can hold the first scan, why), from T.81's entropy coding.

    ``scanned``: the component ids of the first scan; ``spectral_start``: its Ss (0: DC).
    Sequential Huffman: every 8x8 block of every component in the scan codes a DC difference
    and ends its AC coefficients, each at least a 1-bit code: 2 bits per block. Progressive
    Huffman: EOB runs code the AC of up to 32767 blocks in one symbol, but a DC scan still needs
    a 1-bit code per block (an AC-first scan: no bound). Lossless: 1 bit per sample of each
    scanned component. Arithmetic coding (QM coder) can code a flat image in almost no bytes:
    no bound (the pixel limit still applies). A file cut short inside its first scan fails here
    too: decoders would fill the rest with grey.
    """
    if frame.marker in ARITHMETIC:
        return 0, ""
    h_max = max(h for h, _, _ in frame.components.values())
    v_max = max(v for _, v, _ in frame.components.values())
    sizes = [
        (math.ceil(frame.width * h / h_max), math.ceil(frame.height * v / v_max))
        for ident, (h, v, _) in frame.components.items()
        if ident in scanned
    ]
    if frame.marker in LOSSLESS:
        return sum(w * h for w, h in sizes) // 8, "lossless JPEG: 1 bit per sample"
    blocks = sum(math.ceil(w / 8) * math.ceil(h / 8) for w, h in sizes)
    if frame.marker in PROGRESSIVE:
        return (blocks // 8, "progressive JPEG: 1 bit per 8x8 block for its DC") if spectral_start == 0 else (0, "")
    return blocks // 4, "sequential JPEG: 2 bits per 8x8 block (DC and end of block)"
