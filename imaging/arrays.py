"""Shape and dtype checks shared by the array-level functions."""

from __future__ import annotations

import numpy as np

from imaging.errors import InvalidArrayError


def require_rgb(pixels: np.ndarray, name: str = "pixels") -> None:
    """Raise unless ``pixels`` is a non-empty HxWx3 uint8 array."""
    if not isinstance(pixels, np.ndarray):
        raise InvalidArrayError(f"{name} must be a numpy array, got {type(pixels).__name__}")
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise InvalidArrayError(
            f"{name} must be HxWx3 uint8 RGB, got shape {pixels.shape} dtype {pixels.dtype}"
        )
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InvalidArrayError(f"{name} has no pixels: shape {pixels.shape}")


def require_boxes(boxes: np.ndarray, min_columns: int = 4, name: str = "boxes") -> None:
    """Raise unless ``boxes`` is a 2-D numeric array with at least ``min_columns`` columns."""
    if not isinstance(boxes, np.ndarray):
        raise InvalidArrayError(f"{name} must be a numpy array, got {type(boxes).__name__}")
    if boxes.ndim != 2 or boxes.shape[1] < min_columns:
        raise InvalidArrayError(
            f"{name} must be [N,{min_columns}+] (x1, y1, x2, y2, ...), got shape {boxes.shape}"
        )
    if not np.issubdtype(boxes.dtype, np.number):
        raise InvalidArrayError(f"{name} must be numeric, got dtype {boxes.dtype}")
