"""What nvImageCodec does on this machine's CPU backend, as relied on by imaging.codec."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
from imaging.nvimgcodec_backend import (
    DECODE_PARAMS,
    code_stream,
    create_decoder,
    create_encoder,
    encode_params,
    to_pixels,
)
from imaging.options import EncodeOptions
from tests.photos import photo_bytes


def test_cpu_codecs_are_labelled() -> None:
    assert create_decoder("cpu")[1] == "nvimgcodec-cpu"
    assert create_encoder("cpu")[1] == "nvimgcodec-cpu"


def test_unknown_device() -> None:
    with pytest.raises(InvalidOptionError, match=r"device must be one of \['auto', 'cpu', 'gpu'\]"):
        create_decoder("cuda:0")


def test_code_stream_reads_the_header() -> None:
    stream = code_stream(photo_bytes("zidane.jpg"))
    assert stream is not None
    assert (stream.codec_name, stream.width, stream.height) == ("jpeg", 1280, 720)


def test_code_stream_of_garbage_is_none() -> None:
    assert code_stream(b"\xff\xd8\xff" + bytes(64)) is None


def test_failed_decode_gives_none() -> None:
    decoder, _ = create_decoder("cpu")
    data = photo_bytes("zidane.jpg")
    stream = code_stream(data[: len(data) // 2])
    assert stream is not None  # the header is intact
    assert decoder.decode(stream, params=DECODE_PARAMS) is None
    assert to_pixels(None) is None


def test_decoded_image_to_pixels() -> None:
    decoder, _ = create_decoder("cpu")
    image = decoder.decode(code_stream(photo_bytes("grace_hopper.jpg")), params=DECODE_PARAMS)
    pixels = to_pixels(image)
    assert pixels is not None
    assert pixels.shape == (600, 512, 3) and pixels.dtype == np.uint8


@pytest.mark.parametrize(
    ("options", "codec"),
    [
        (EncodeOptions("jpeg", quality=80), "jpeg"),
        (EncodeOptions("png"), "png"),
        (EncodeOptions("webp", lossless=True), "webp"),
        (EncodeOptions("tiff"), "tiff"),
    ],
)
def test_encode_params_for_supported_formats(options: EncodeOptions, codec: str) -> None:
    target = encode_params(options)
    assert target is not None and target[0] == codec


@pytest.mark.parametrize(
    "options",
    [
        EncodeOptions("jp2", lossless=True),
        EncodeOptions("jp2", compression_ratio=20),
        EncodeOptions("j2k"),
    ],
)
def test_jpeg2000_is_left_to_pillow(options: EncodeOptions) -> None:
    assert encode_params(options) is None
