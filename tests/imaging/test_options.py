from __future__ import annotations

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
from imaging.options import EncodeOptions, parse_encode_options


def test_defaults() -> None:
    assert parse_encode_options({}, "png") == EncodeOptions(format="png", quality=90)


def test_string_values_from_a_query_string() -> None:
    raw = {"format": "JP2", "quality": "75", "lossless": "false", "compression_ratio": "20"}
    assert parse_encode_options(raw, "jpeg") == EncodeOptions("jp2", 75, False, 20.0)


def test_bytes_and_numpy_values_from_tensors() -> None:
    raw = {"format": b"jpg", "quality": np.int64(70), "lossless": np.bool_(False)}
    assert parse_encode_options(raw, "png") == EncodeOptions("jpeg", 70)
    with pytest.raises(InvalidOptionError, match="format must be UTF-8 text"):
        parse_encode_options({"format": b"\xff"}, "png")


def test_json_values() -> None:
    raw = {"format": "webp", "quality": 60.0, "lossless": True, "other": "ignored"}
    assert parse_encode_options(raw, "jpeg") == EncodeOptions("webp", 60, True)


@pytest.mark.parametrize(("alias", "name"), [("jpg", "jpeg"), (".JPEG", "jpeg"), ("tif", "tiff")])
def test_format_aliases(alias: str, name: str) -> None:
    assert parse_encode_options({"format": alias}, "png").format == name


def test_empty_format_means_default() -> None:
    assert parse_encode_options({"format": ""}, "webp").format == "webp"


def test_unknown_format_lists_the_allowed_ones() -> None:
    expected = r"format must be one of \[.*'jpeg'.*'webp'.*\], got 'gif'"
    with pytest.raises(InvalidOptionError, match=expected):
        parse_encode_options({"format": "gif"}, "jpeg")


@pytest.mark.parametrize("quality", ["abc", "0", "101", 0, 101, 50.5, True, "-5"])
def test_bad_quality_is_named(quality: object) -> None:
    with pytest.raises(InvalidOptionError, match=f"quality must be an integer 1-100, got {quality!r}"):
        parse_encode_options({"quality": quality}, "jpeg")


@pytest.mark.parametrize("lossless", ["maybe", 2, 0.5])
def test_bad_lossless(lossless: object) -> None:
    with pytest.raises(InvalidOptionError, match="lossless must be a boolean"):
        parse_encode_options({"lossless": lossless, "format": "png"}, "jpeg")


@pytest.mark.parametrize("ratio", ["abc", "0.5", 1, "inf", "nan", True])
def test_bad_compression_ratio(ratio: object) -> None:
    with pytest.raises(InvalidOptionError, match="compression_ratio must be a finite number > 1"):
        parse_encode_options({"compression_ratio": ratio}, "jp2")


def test_lossless_jpeg_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="lossless is not available for jpeg"):
        EncodeOptions("jpeg", lossless=True)


def test_ratio_only_for_jpeg2000() -> None:
    with pytest.raises(InvalidOptionError, match="compression_ratio applies only to"):
        EncodeOptions("png", compression_ratio=10.0)
    with pytest.raises(InvalidOptionError, match="cannot be combined with lossless"):
        EncodeOptions("jp2", lossless=True, compression_ratio=10.0)


def test_direct_construction_is_validated() -> None:
    with pytest.raises(InvalidOptionError, match="quality"):
        EncodeOptions("jpeg", quality=0)
    with pytest.raises(InvalidOptionError, match="format"):
        EncodeOptions("jpg")


def test_jpeg2000_options_from_parameters() -> None:
    options = parse_encode_options({"format": "j2k", "psnr": "38.5", "tile_size": "512x256", "resolutions": "5"}, "jpeg")
    assert (options.psnr, options.tile_size, options.resolutions) == (38.5, (512, 256), 5)
    assert parse_encode_options({"format": "jp2", "tile_size": 1024}, "jpeg").tile_size == (1024, 1024)
    assert parse_encode_options({"format": "jp2", "tile_size": [64, 128]}, "jpeg").tile_size == (64, 128)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"format": "png", "psnr": 40}, "psnr applies only to"),
        ({"format": "jp2", "psnr": 5}, "psnr must be a number of dB in 10-100"),
        ({"format": "jp2", "psnr": 40, "lossless": True}, "psnr cannot be combined"),
        ({"format": "jp2", "tile_size": "8"}, "tile_size must be"),
        ({"format": "jp2", "tile_size": "big"}, "tile_size must be N or WxH"),
        ({"format": "jp2", "resolutions": 40}, "resolutions must be an integer 1-32"),
        ({"format": "jpeg", "resolutions": 3}, "resolutions applies only to"),
    ],
)
def test_bad_jpeg2000_options_are_named(raw: dict, named: str) -> None:
    with pytest.raises(InvalidOptionError, match=named):
        parse_encode_options(raw, "jpeg")
