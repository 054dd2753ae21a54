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


def split_alpha(samples: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(HxWx3 uint8 RGB, HxW uint8 alpha or None) of HxWxC samples, C 1-4, ``bits`` significant.

    Gray is repeated to three channels; samples of more than 8 bits keep their top 8, fewer
    than 8 are stretched to 0-255.
    """
    if samples.ndim != 3 or not 1 <= samples.shape[2] <= 4:
        raise InvalidArrayError(f"samples must be HxWxC with C in 1-4, got shape {samples.shape}")
    if bits > 8:
        eight = (samples >> (bits - 8)).astype(np.uint8)
    elif bits < 8:
        eight = (samples.astype(np.uint16) * 255 // ((1 << bits) - 1)).astype(np.uint8)
    else:
        eight = samples.astype(np.uint8, copy=False)
    colour, alpha = (eight, None) if samples.shape[2] in (1, 3) else (eight[:, :, :-1], eight[:, :, -1])
    rgb = np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour
    return np.ascontiguousarray(rgb), None if alpha is None else np.ascontiguousarray(alpha)


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
