"""Geometric operations of a processing chain, as pure functions over HxWx3 uint8 RGB arrays.

Each returns a new C-contiguous array (or, for :func:`tile`, views with their positions); none
modifies its input. Blurring lives in :mod:`imaging.blur`, tiles in :mod:`imaging.tiling`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from imaging.arrays import require_rgb
from imaging.errors import InvalidOptionError
from imaging.tiling import Tile, grid

INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}
FITS = ("exact", "within")
MAX_SIDE = 65_535


def target_size(
    width: int,
    height: int,
    *,
    new_width: int | None = None,
    new_height: int | None = None,
    scale: float | None = None,
    fit: str = "exact",
) -> tuple[int, int]:
    """The (width, height) a resize produces.

    ``scale``: both sides times the factor. One of new_width / new_height: the other follows the
    aspect ratio. Both with fit "exact": exactly that size; with fit "within": the largest size of
    the same aspect ratio inside that box.
    """
    if scale is not None:
        return _bounded(width * scale, height * scale)
    if new_width is None and new_height is None:
        raise InvalidOptionError("resize needs width, height or scale")
    if new_width is None or new_height is None:
        factor = new_width / width if new_width is not None else new_height / height  # type: ignore[operator]
        return _bounded(width * factor, height * factor)
    if fit == "within":
        factor = min(new_width / width, new_height / height)
        return _bounded(width * factor, height * factor)
    return _bounded(new_width, new_height)


def _bounded(width: float, height: float) -> tuple[int, int]:
    size = max(1, round(width)), max(1, round(height))
    if max(size) > MAX_SIDE:
        raise InvalidOptionError(f"resize to {size[0]}x{size[1]} exceeds {MAX_SIDE} pixels a side")
    return size


def resize(pixels: np.ndarray, width: int, height: int, interpolation: str = "auto") -> np.ndarray:
    """``pixels`` resized to width x height; "auto" is area when shrinking, cubic when enlarging."""
    require_rgb(pixels)
    check_interpolation(interpolation)
    if interpolation == "auto":
        shrinking = width * height < pixels.shape[0] * pixels.shape[1]
        interpolation = "area" if shrinking else "cubic"
    if (width, height) == (pixels.shape[1], pixels.shape[0]):
        return pixels.copy()
    return cv2.resize(pixels, (width, height), interpolation=INTERPOLATIONS[interpolation])


def crop(pixels: np.ndarray, x: int, y: int, width: int, height: int) -> np.ndarray:
    """The width x height rectangle at (x, y); it must lie inside the image."""
    require_rgb(pixels)
    check_crop(x, y, width, height, image_width=pixels.shape[1], image_height=pixels.shape[0])
    return np.ascontiguousarray(pixels[y : y + height, x : x + width])


def check_crop(x: int, y: int, width: int, height: int, *, image_width: int, image_height: int) -> None:
    """Refuse a crop rectangle that does not lie inside the image."""
    if x < 0 or y < 0 or width < 1 or height < 1 or x + width > image_width or y + height > image_height:
        raise InvalidOptionError(
            f"crop {width}x{height} at ({x}, {y}) does not lie inside the {image_width}x{image_height} image"
        )


def rotate(pixels: np.ndarray, angle: float, fill: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """``pixels`` turned ``angle`` degrees counter-clockwise (as Pillow's rotate).

    Multiples of 90 are exact (no resampling); other angles are bilinear, on a canvas grown to
    hold the whole rotated image, the corners filled with ``fill``.
    """
    require_rgb(pixels)
    turns = angle / 90
    if turns.is_integer():
        return np.ascontiguousarray(np.rot90(pixels, k=int(turns) % 4))
    height, width = pixels.shape[:2]
    new_width, new_height = rotated_size(width, height, angle)
    matrix = np.asarray(cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, 1.0), dtype=np.float64)
    matrix[:, 2] += [(new_width - width) / 2, (new_height - height) / 2]
    return cv2.warpAffine(
        pixels, matrix, (new_width, new_height), flags=cv2.INTER_LINEAR, borderValue=tuple(int(v) for v in fill)
    )


def rotated_size(width: int, height: int, angle: float) -> tuple[int, int]:
    """The (width, height) :func:`rotate` produces: swapped for odd quarter turns, else the grown canvas."""
    turns = angle / 90
    if turns.is_integer():
        return (height, width) if int(turns) % 2 else (width, height)
    radians = math.radians(angle)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return math.ceil(width * cos + height * sin), math.ceil(width * sin + height * cos)


def check_interpolation(interpolation: str) -> None:
    if interpolation != "auto" and interpolation not in INTERPOLATIONS:
        raise InvalidOptionError(f"interpolation must be one of {['auto', *INTERPOLATIONS]}, got {interpolation!r}")


def tile(pixels: np.ndarray, rows: int, cols: int, overlap: int = 0) -> list[tuple[Tile, np.ndarray]]:
    """rows x cols overlapping tiles of ``pixels``, row by row, each with its position."""
    require_rgb(pixels)
    height, width = pixels.shape[:2]
    return [(piece, piece.view(pixels)) for piece in grid(width, height, rows, cols, overlap)]
