"""Test-side letterboxing (independent of the project's `imaging` package) and NCHW blobs."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Letterboxed:
    canvas: np.ndarray  # uint8 RGB [height, width, 3]
    scale: float  # canvas pixels per source pixel
    left: int
    top: int


def letterbox(pixels: np.ndarray, width: int, height: int, fill: int = 114) -> Letterboxed:
    """Resize `pixels` to fit width x height keeping its aspect ratio, centred on a grey canvas."""
    source_height, source_width = pixels.shape[:2]
    scale = min(width / source_width, height / source_height)
    new_width, new_height = round(source_width * scale), round(source_height * scale)
    left, top = (width - new_width) // 2, (height - new_height) // 2
    canvas = np.full((height, width, 3), fill, np.uint8)
    resized = cv2.resize(pixels, (new_width, new_height), interpolation=cv2.INTER_LINEAR)
    canvas[top : top + new_height, left : left + new_width] = resized
    return Letterboxed(canvas, scale, left, top)


def blob(canvases: list[np.ndarray], divisor: float) -> np.ndarray:
    """Stack RGB canvases into a float32 NCHW batch divided by `divisor` (255 for 0..1, 1 for 0..255)."""
    return (np.stack(canvases).transpose(0, 3, 1, 2).astype(np.float32) / divisor).copy()


def to_source_pixels(corners: np.ndarray, boxed: Letterboxed) -> np.ndarray:
    """Map x1, y1, x2, y2 columns from canvas pixels back to the source photo."""
    offsets = np.array([boxed.left, boxed.top, boxed.left, boxed.top], np.float32)
    return (corners - offsets) / boxed.scale
