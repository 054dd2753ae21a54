"""JPEG 2000 headers parsed without decoding, checked against glymur's own parser."""

from __future__ import annotations

from pathlib import Path

import glymur
import pytest

from imaging.errors import CorruptImageError, UnsupportedFormatError
from imaging.jpeg2000_header import codestream, read_header, reduced_size
from tests.photos import photo_bytes


@pytest.mark.parametrize("name", ["nemo.jp2", "goodstuff.j2k"])
def test_header_matches_glymur(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(photo_bytes(name))
    segments = {segment.marker_id: segment for segment in glymur.Jp2k(str(path)).get_codestream(header_only=True).segment}
    siz, cod = segments["SIZ"], segments["COD"]
    header = read_header(photo_bytes(name))
    assert (header.width, header.height) == (siz.xsiz, siz.ysiz)
    assert (header.tile_width, header.tile_height) == (siz.xtsiz, siz.ytsiz)
    assert header.components == len(siz.bitdepth) and header.bits == max(siz.bitdepth)
    assert (header.levels, header.layers) == (cod.num_res, cod.layers)
    assert header.reversible == (cod.xform == 1)
    assert header.container == name.rsplit(".", 1)[1]


def test_codestream_is_cut_out_of_the_jp2_container() -> None:
    stream = bytes(codestream(photo_bytes("nemo.jp2")))
    assert stream[:4] == b"\xff\x4f\xff\x51" and stream[-2:] == b"\xff\xd9"  # SOC SIZ ... EOC
    assert read_header(stream).container == "j2k"


def test_a_j2k_is_its_own_codestream() -> None:
    data = photo_bytes("goodstuff.j2k")
    assert bytes(codestream(data)) == data


def test_damaged_headers_are_named() -> None:
    with pytest.raises(CorruptImageError, match="truncated"):
        read_header(photo_bytes("goodstuff.j2k")[:30])
    with pytest.raises(CorruptImageError, match="no contiguous codestream box"):
        read_header(photo_bytes("nemo.jp2")[:60])
    with pytest.raises(UnsupportedFormatError):
        read_header(b"not a jpeg 2000 file at all")


@pytest.mark.parametrize(("size", "reduce", "expected"), [((2592, 1456), 1, (1296, 728)), ((301, 201), 2, (76, 51)), ((7, 5), 3, (1, 1))])
def test_reduced_size_rounds_up(size: tuple[int, int], reduce: int, expected: tuple[int, int]) -> None:
    assert reduced_size(*size, reduce) == expected
