from __future__ import annotations

import numpy as np
import pytest

from imaging.arrays import require_boxes, require_rgb
from imaging.errors import InvalidArrayError


def test_require_rgb_accepts_hxwx3_uint8() -> None:
    require_rgb(np.zeros((2, 3, 3), dtype=np.uint8))


@pytest.mark.parametrize(
    "pixels",
    [
        np.zeros((2, 3), dtype=np.uint8),
        np.zeros((2, 3, 4), dtype=np.uint8),
        np.zeros((2, 3, 3), dtype=np.float32),
        np.zeros((0, 3, 3), dtype=np.uint8),
        [[1, 2, 3]],
    ],
)
def test_require_rgb_rejects_other_arrays(pixels: object) -> None:
    with pytest.raises(InvalidArrayError, match="pixels"):
        require_rgb(pixels)  # type: ignore[arg-type]


def test_require_boxes_checks_columns_and_dtype() -> None:
    require_boxes(np.zeros((0, 4), dtype=np.float32))
    require_boxes(np.zeros((2, 7)), min_columns=7)
    with pytest.raises(InvalidArrayError, match=r"\[N,4\+\]"):
        require_boxes(np.zeros((2, 3)))
    with pytest.raises(InvalidArrayError, match="numeric"):
        require_boxes(np.array([["a", "b", "c", "d"]]))
