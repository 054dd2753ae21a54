"""imaging.validate_image.check_image: the one set of checks made before decoding (decode and the
gateway's upload check), on a whole file and on its first bytes."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from imaging.errors import CorruptImageError, EmptyImageError, ImageTooLargeError, UnsupportedFormatError
from imaging.fidelity import FrameCountError, SampleRangeError
from imaging.validate_image import check_image
from tests.photos import photo_bytes

LIMIT = 100_000_000


def _j2k_claiming(width: int, height: int) -> bytes:
    """SOC and a SIZ marker for one 8-bit component claiming ``width`` x ``height``."""
    siz = struct.pack(">HIIIIIIIIH", 0, width, height, 0, 0, width, height, 0, 0, 1) + bytes([7, 1, 1])
    return b"\xff\x4f\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    data = bytearray(_encoded(np.zeros((8, 8, 3), np.uint8), "JPEG"))
    frame = data.index(b"\xff\xc0")  # marker, length (2), precision (1), height (2), width (2)
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _encoded(pixels: np.ndarray, pillow_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=pillow_format, **options)
    return buffer.getvalue()


def test_a_photo_passes_and_names_its_format() -> None:
    assert check_image(photo_bytes("zidane.jpg"), LIMIT) == "jpeg"
    assert check_image(photo_bytes("nemo.jp2"), LIMIT) == "jp2"


def test_refusals_in_order_with_their_errors() -> None:
    with pytest.raises(EmptyImageError):
        check_image(b"", LIMIT)
    with pytest.raises(UnsupportedFormatError, match="GIF"):
        check_image(b"GIF89a" + bytes(100), LIMIT)
    with pytest.raises(ImageTooLargeError, match=r"^image is 60000x60000 = 3600000000 pixels, above the limit of 100000000$"):
        check_image(_j2k_claiming(60000, 60000), LIMIT)  # the limit comes before the header's byte budget
    with pytest.raises(ImageTooLargeError, match=r"limit of 100000000 \(GATEWAY_MAX_PIXELS\)$"):
        check_image(_j2k_claiming(60000, 60000), LIMIT, limit_name="GATEWAY_MAX_PIXELS")
    with pytest.raises(CorruptImageError, match="^j2k header is truncated"):
        check_image(_j2k_claiming(100, 100), LIMIT)  # within the limit, but its header stops at SIZ
    with pytest.raises(CorruptImageError, match="^jpeg header claims 9000x9000 pixels, which need at least"):
        check_image(_jpeg_claiming(9000, 9000), LIMIT)  # within the limit, but no bytes for its pixels


def test_reduce_puts_the_limit_on_the_reduced_size() -> None:
    bomb = _j2k_claiming(60000, 60000)
    with pytest.raises(ImageTooLargeError, match="15000x15000"):
        check_image(bomb, LIMIT, reduce=2, total_size=10**6)
    check_image(bomb, LIMIT, reduce=3, total_size=10**6)  # 7500x7500
    check_image(bomb, LIMIT, reduce=None, total_size=10**6)  # halvings unknown: the limit cannot tell
    with pytest.raises(ImageTooLargeError, match="60000x60000"):
        check_image(_encoded(np.zeros((8, 8), np.uint8), "PNG")[:16] + struct.pack(">II", 60000, 60000), LIMIT, reduce=None)


def test_the_first_bytes_refuse_only_what_they_can_tell() -> None:
    photo = photo_bytes("bus.jpg")
    check_image(photo[:300], LIMIT, total_size=len(photo))  # the header runs past them
    with pytest.raises(CorruptImageError, match="truncated"):
        check_image(photo[:300], LIMIT)  # the whole file: cut short
    with pytest.raises(ImageTooLargeError, match="810x1080"):
        check_image(photo[:4096], 810 * 1080 - 1, total_size=len(photo))


def test_several_frames_are_refused_even_from_the_first_bytes() -> None:
    frames = [np.full((32, 32, 3), value, np.uint8) for value in (0, 128, 255)]
    images = [Image.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="PNG", save_all=True, append_images=images[1:])
    apng = buffer.getvalue()
    for data, total in ((apng, None), (apng[:200], len(apng))):
        with pytest.raises(FrameCountError, match="animated PNG"):
            check_image(data, LIMIT, total_size=total)


def test_a_float_layout_pillow_cannot_open_is_named() -> None:
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.full((16, 24), 0.5, np.float64))
    with pytest.raises(SampleRangeError, match="64-bit floating point"):
        check_image(buffer.getvalue(), LIMIT)
