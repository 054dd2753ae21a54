"""Whether a ground-truth face was anonymised: its pixels changed, compared with the input.

The measure, on lossless input and output (PNG in, PNG out, so an untouched pixel is
bit-identical and a change is never codec noise):

- the face's ground-truth box is rounded outwards to whole pixels and clipped to the image;
- it is split into 2x2 quadrants; in each, the mean absolute difference between output and input
  is taken over every pixel and the three RGB channels (uint8 levels, 0-255);
- the face's *change* is the smallest of the four; the face counts as anonymised when its change
  is at least :data:`CHANGED_LEVELS`.

Taking the smallest quadrant means a blur over only part of a face (its top half, say) does not
count. Measured on generated scenes of real faces (``tests.scenes``), 24-2048 px tall: the
project's Gaussian blur changes every face by 6.9 levels or more, its pixelation by 4.7 or more,
deface's blur by 16 or more; an untouched face changes by 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

CHANGED_LEVELS = 2.0  # smallest quadrant mean |output - input| (uint8 levels) that counts as anonymised


def pixel_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    """(x1, y1, x2, y2) whole pixels: ``box`` rounded outwards and clipped to a width x height image."""
    x1, y1 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x2, y2 = min(width, math.ceil(box[2])), min(height, math.ceil(box[3]))
    return x1, y1, max(x1, x2), max(y1, y2)


def face_change(original: np.ndarray, output: np.ndarray, box: Sequence[float]) -> float:
    """The smallest quadrant's mean absolute difference inside ``box``, in uint8 levels.

    ``original`` and ``output`` are [H, W, 3] uint8 RGB of the same size; ``box`` is x1, y1, x2,
    y2 in pixels. A box narrower or shorter than 2 pixels after clipping has no quadrants: NaN.
    Raises ValueError when the two images differ in shape.
    """
    if original.shape != output.shape:
        raise ValueError(f"output shape {output.shape} differs from the input's {original.shape}")
    x1, y1, x2, y2 = pixel_box(box, original.shape[1], original.shape[0])
    if x2 - x1 < 2 or y2 - y1 < 2:
        return math.nan
    difference = np.abs(output[y1:y2, x1:x2].astype(np.int16) - original[y1:y2, x1:x2].astype(np.int16))
    mid_y, mid_x = (y2 - y1) // 2, (x2 - x1) // 2
    quadrants = (difference[:mid_y, :mid_x], difference[:mid_y, mid_x:], difference[mid_y:, :mid_x], difference[mid_y:, mid_x:])
    return float(min(quadrant.mean() for quadrant in quadrants))


def face_changes(original: np.ndarray, output: np.ndarray | None, boxes: np.ndarray) -> list[float]:
    """:func:`face_change` of every [N, 4] box; all 0.0 (nothing anonymised) when there is no output
    or its size differs from the input's: an answer that is not the input's picture anonymises nothing."""
    if output is None or output.shape != original.shape:
        return [0.0] * len(boxes)
    return [face_change(original, output, box) for box in boxes]


def anonymised(change: float, threshold: float = CHANGED_LEVELS) -> bool:
    """Whether a face whose change is ``change`` levels counts as anonymised (NaN: no pixels, not counted as done)."""
    return not math.isnan(change) and change >= threshold
