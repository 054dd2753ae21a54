"""JPEG 2000 boxes, SIZ, COD/COC, QCD and tile-part headers: each refused field named."""

from __future__ import annotations

import struct

import pytest

from imaging.errors import CorruptImageError
from imaging.validate_jpeg2000 import validate_jpeg2000
from tests.crashers import j2k_zero_tile_width
from tests.fuzz import CORPUS
from tests.photos import photo_bytes


def codestream(width: int = 64, height: int = 64, tile: tuple[int, int] = (64, 64), components: bytes = b"\x07\x01\x01",
               cod: bytes = b"\x00\x00\x00\x01\x00\x05\x04\x04\x00\x01", qcd: bool = True, sot_tile: int = 0) -> bytes:
    """A minimal codestream: SOC, SIZ, COD, QCD, one empty tile-part, EOC."""
    count = len(components) // 3
    siz = struct.pack(">HIIIIIIIIH", 0, width, height, 0, 0, *tile, 0, 0, count) + components
    parts = [b"\xff\x4f", b"\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz, b"\xff\x52" + struct.pack(">H", 2 + len(cod)) + cod]
    if qcd:
        parts.append(b"\xff\x5c" + struct.pack(">H", 4) + b"\x40\x40")
    parts.append(b"\xff\x90" + struct.pack(">HHIBB", 10, sot_tile, 14, 0, 1) + b"\xff\x93")
    return b"".join(parts) + b"\xff\xd9"


def test_the_minimal_codestream_passes() -> None:
    header = validate_jpeg2000(codestream(), "j2k")
    assert (header.width, header.height) == (64, 64)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (j2k_zero_tile_width(), "tiles of 0x64"),
        (codestream(width=0), r"empty image \(0x64\)"),
        (codestream(components=b""), "0 components"),
        (codestream(components=b"\x07\x01\x01" * 5), "5 components"),
        (codestream(components=b"\x07\x00\x01"), "sub-sampling 0x1"),
        (codestream(components=b"\x30\x01\x01"), "49 bits"),
        (codestream(width=70000, height=70000, tile=(1, 1)), "4900000000 tiles"),
        (codestream(cod=b"\x00\x00\x00\x01\x00\x21\x04\x04\x00\x01"), "33 levels"),
        (codestream(cod=b"\x00\x00\x00\x01\x00\x05\x09\x04\x00\x01"), r"code-blocks 2\^11x2\^6"),
        (codestream(cod=b"\x00\x07\x00\x01\x00\x05\x04\x04\x00\x01"), "progression 7"),
        (codestream(cod=b"\x00\x00\x00\x00\x00\x05\x04\x04\x00\x01"), "0 layers"),
        (codestream(cod=b"\x01\x00\x00\x01\x00\x01\x04\x04\x00\x01\xff\x00"), r"precincts of resolution 1 are 2\^0x2\^0"),
        (codestream(qcd=False), "lacks SIZ, COD or QCD"),
        (codestream(sot_tile=1), "names tile 1 of 1"),
        (codestream()[:30], "truncated"),
    ],
    ids=["zero-tile", "empty", "no-components", "5-components", "zero-subsampling", "depth", "tiles", "levels",
         "code-block", "progression", "layers", "precincts", "no-qcd", "tile-index", "cut"],
)
def test_bad_codestreams_are_named(data: bytes, named: str) -> None:
    with pytest.raises(CorruptImageError, match=named):
        validate_jpeg2000(data, "j2k")


def boxed(stream: bytes, ihdr: bytes = struct.pack(">IIHBBBB", 64, 64, 1, 7, 7, 0, 0), extra: bytes = b"") -> bytes:
    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    header = box(b"ihdr", ihdr) + box(b"colr", b"\x01\x00\x00\x00\x00\x00\x11") + extra
    return b"\x00\x00\x00\x0cjP  \r\n\x87\n" + box(b"ftyp", b"jp2 \x00\x00\x00\x00jp2 ") + box(b"jp2h", header) + box(b"jp2c", stream)


def test_jp2_boxes_must_agree_with_the_codestream() -> None:
    assert validate_jpeg2000(boxed(codestream()), "jp2").width == 64
    with pytest.raises(CorruptImageError, match="ihdr box says 64x32"):
        validate_jpeg2000(boxed(codestream(), ihdr=struct.pack(">IIHBBBB", 32, 64, 1, 7, 7, 0, 0)), "jp2")
    cmap = struct.pack(">I", 12) + b"cmap" + struct.pack(">HBB", 3, 1, 0)
    pclr = struct.pack(">I", 8 + 3 + 1 + 2) + b"pclr" + struct.pack(">HBB", 2, 1, 7) + b"\x00\xff"
    validate_jpeg2000(boxed(codestream(), extra=pclr + cmap.replace(b"\x00\x03\x01", b"\x00\x00\x01")), "jp2")
    with pytest.raises(CorruptImageError, match="names component 3"):
        validate_jpeg2000(boxed(codestream(), extra=pclr + cmap), "jp2")
    with pytest.raises(CorruptImageError, match="without a component mapping"):
        validate_jpeg2000(boxed(codestream(), extra=pclr), "jp2")


@pytest.mark.parametrize("name", ["nemo.jp2", "goodstuff.j2k"])
def test_real_files_pass_and_their_damaged_boxes_do_not(name: str) -> None:
    data = photo_bytes(name)
    fmt = name.rsplit(".", 1)[1]
    assert validate_jpeg2000(data, fmt).width > 0
    if fmt == "jp2":
        with pytest.raises(CorruptImageError, match="has length 3"):
            validate_jpeg2000(data[:12] + struct.pack(">I", 3) + data[16:], fmt)


def test_markers_a_header_may_not_carry_are_refused() -> None:
    stream = codestream()
    comment = b"\xff\x64" + struct.pack(">H", 6) + b"\x00\x01hi"
    at_sot = stream.index(b"\xff\x90")
    validate_jpeg2000(stream[:at_sot] + comment + stream[at_sot:], "j2k")  # COM: allowed
    with pytest.raises(CorruptImageError, match="main header has a bad marker ff6c"):
        validate_jpeg2000(stream[:at_sot] + b"\xff\x6c" + comment[2:] + stream[at_sot:], "j2k")
    tile_part = b"\xff\x90" + struct.pack(">HHIBB", 10, 0, 20, 0, 1) + b"\xff\x6c" + comment[2:4] + b"\x00\x00\xff\x93"
    with pytest.raises(CorruptImageError, match="tile-part header has a bad marker ff6c"):
        validate_jpeg2000(stream[:at_sot] + tile_part + b"\xff\xd9", "j2k")


def test_the_fuzzed_jp2_that_killed_a_transcode_stub_is_refused() -> None:
    data = (CORPUS / "9c5a533bb6c84440.jp2").read_bytes()  # COM (ff64) turned into ff6c: OpenJPEG "Unknown marker"
    with pytest.raises(CorruptImageError, match="bad marker ff6c"):
        validate_jpeg2000(data, "jp2")


def test_packed_packet_headers_must_hold_their_own_lengths() -> None:
    stream = codestream()
    at_sot = stream.index(b"\xff\x90")

    def with_ppm(body: bytes) -> bytes:
        return stream[:at_sot] + b"\xff\x60" + struct.pack(">H", 2 + len(body)) + body + stream[at_sot:]

    validate_jpeg2000(with_ppm(b"\x00" + struct.pack(">I", 2) + b"\x80\x00"), "j2k")  # Zppm 0, one record of 2 bytes
    with pytest.raises(CorruptImageError, match="PPM packet headers run 1 bytes past"):
        validate_jpeg2000(with_ppm(b"\x00" + struct.pack(">I", 3) + b"\x80\x00"), "j2k")
    data = (CORPUS / "576fe3d5957af15c.jp2").read_bytes()  # a COM turned into PPM: broke nvImageCodec's next JPEG 2000 decode
    with pytest.raises(CorruptImageError, match="PPM packet headers"):
        validate_jpeg2000(data, "jp2")


@pytest.mark.parametrize(
    ("marker", "body", "named"),
    [
        (b"\xff\x5d", b"\x00\x40\x40", None),  # QCC: component 0, no quantisation, 1 subband
        (b"\xff\x5d", b"\x00\x41\x40\x00", None),  # QCC: scalar derived, one value
        (b"\xff\x5d", b"\x05\x40\x40", "QCC names component 5 of 1"),
        (b"\xff\x5d", b"\x00\x40\x40\x40", "style 0 with 2 bytes of values"),
        (b"\xff\x5e", b"\x00\x00\x05", None),  # RGN: component 0, style 0, shift 5
        (b"\xff\x5e", b"\x00\x01\x05", "RGN of 5 bytes names component 0 with style 1"),
        (b"\xff\x63", b"\x00\x00\x00\x00", None),  # CRG: one component
        (b"\xff\x63", b"Created by a fuzzer", "CRG is 21 bytes for 1 components"),
        (b"\xff\x74", b"\x00\x00", "bad marker ff74"),  # Part 2 MCT: not decoded here
    ],
    ids=["qcc", "qcc-derived", "qcc-component", "qcc-length", "rgn", "rgn-style", "crg", "crg-length", "mct"],
)
def test_segments_have_the_shape_their_marker_defines(marker: bytes, body: bytes, named: str | None) -> None:
    stream = codestream()
    at_sot = stream.index(b"\xff\x90")
    data = stream[:at_sot] + marker + struct.pack(">H", 2 + len(body)) + body + stream[at_sot:]
    if named is None:
        validate_jpeg2000(data, "j2k")
        return
    with pytest.raises(CorruptImageError, match=named):
        validate_jpeg2000(data, "j2k")
