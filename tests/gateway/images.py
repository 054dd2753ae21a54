"""Pixel checks on what the gateway answers, and crafted headers to send it, independent of the service's own codec."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import numpy as np
from PIL import Image


def decode(payload: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(payload)) as image:
        return np.asarray(image.convert("RGB"))


def sharpness(pixels: np.ndarray, box: Sequence[float]) -> float:
    """Mean absolute neighbour difference of the grey levels inside ``box`` (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = (int(round(value)) for value in box)
    region = pixels[y1:y2, x1:x2].astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(region, axis=0)).mean() + np.abs(np.diff(region, axis=1)).mean())


def assert_blurred(original: np.ndarray, result: np.ndarray, boxes: Sequence[Sequence[float]]) -> None:
    """Same size; every box clearly softer than in the original."""
    assert result.shape == original.shape
    for box in boxes:
        before, after = sharpness(original, box), sharpness(result, box)
        assert after < 0.6 * before, f"region {box} not blurred: sharpness {before:.2f} -> {after:.2f}"


def big_png(width: int, height: int) -> bytes:
    """A valid, highly compressible PNG with many pixels (a decompression bomb in miniature)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk (valid CRC) claiming the given size, with no pixel data."""
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) claims the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")  # marker, length (2), precision (1), height (2), width (2)
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def j2k_header(width: int, height: int) -> bytes:
    """A JPEG 2000 codestream start (SOC, SIZ for one 8-bit component) claiming the given size."""
    siz = struct.pack(">HIIIIIIIIH", 0, width, height, 0, 0, width, height, 0, 0, 1) + bytes([7, 1, 1])
    return b"\xff\x4f\xff\x51" + struct.pack(">H", 2 + len(siz)) + siz
