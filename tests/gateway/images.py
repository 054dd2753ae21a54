"""Pixel checks on what the gateway answers, independent of the service's own codec."""

from __future__ import annotations

import io
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
