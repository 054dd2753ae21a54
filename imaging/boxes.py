"""Box bookkeeping: split batched detector rows per image, and grow boxes by a margin."""

from __future__ import annotations

import numpy as np

from imaging.arrays import require_boxes
from imaging.errors import InvalidArrayError, InvalidOptionError


def split_by_batch(rows: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split [K,7] rows (batch_index, x1, y1, x2, y2, score, class_id) into one [k,6] per image.

    The rows are what an ONNX NonMaxSuppression + gather head emits. Row order within an image is
    kept; images without rows get an empty [0,6] array.
    """
    require_boxes(rows, min_columns=7, name="rows")
    if batch_size < 0:
        raise InvalidOptionError(f"batch_size must be >= 0, got {batch_size}")
    batch_index = _batch_indices(rows[:, 0], batch_size)
    order = np.argsort(batch_index, kind="stable")
    counts = np.bincount(batch_index, minlength=batch_size)
    detections = rows[order, 1:7].astype(np.float32, copy=False)
    return np.split(detections, np.cumsum(counts)[:-1]) if batch_size else []


def _batch_indices(column: np.ndarray, batch_size: int) -> np.ndarray:
    indices = column.astype(np.int64)
    if not np.array_equal(indices, column):
        raise InvalidArrayError("batch indices (column 0) must be whole numbers")
    bad = (indices < 0) | (indices >= batch_size)
    if bad.any():
        raise InvalidArrayError(
            f"batch index {int(indices[bad][0])} is outside a batch of {batch_size} images"
        )
    return indices


def expand_boxes(boxes: np.ndarray, margin: float, width: int, height: int) -> np.ndarray:
    """Grow [N,4+] boxes about their centre by ``margin`` of their size, clipped to the image.

    ``margin=0.2`` makes every box 20 % wider and 20 % taller (10 % of its width on each side).
    Extra columns (score, class) are copied unchanged; the result is float32.
    """
    require_boxes(boxes)
    if not np.isfinite(margin) or margin < 0:
        raise InvalidOptionError(f"margin must be a finite number >= 0, got {margin!r}")
    grown = boxes.astype(np.float32, copy=True)
    half_growth = (grown[:, 2:4] - grown[:, 0:2]) * (margin / 2)
    limits = np.array([width, height], dtype=np.float32)
    grown[:, 0:2] = np.clip(grown[:, 0:2] - half_growth, 0, limits)
    grown[:, 2:4] = np.clip(grown[:, 2:4] + half_growth, 0, limits)
    return grown
