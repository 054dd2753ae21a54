from __future__ import annotations

import numpy as np
import pytest

from imaging.boxes import expand_boxes, split_by_batch
from imaging.errors import InvalidArrayError, InvalidOptionError

ROWS = np.array(
    [
        [2, 10, 10, 20, 20, 0.9, 0],
        [0, 1, 2, 3, 4, 0.8, 1],
        [2, 30, 30, 40, 40, 0.7, 0],
        [0, 5, 6, 7, 8, 0.6, 0],
    ],
    dtype=np.float32,
)


def test_split_by_batch_groups_rows_per_image_in_order() -> None:
    per_image = split_by_batch(ROWS, batch_size=4)
    assert [len(boxes) for boxes in per_image] == [2, 0, 2, 0]
    np.testing.assert_array_equal(per_image[0], ROWS[[1, 3], 1:])
    np.testing.assert_array_equal(per_image[2], ROWS[[0, 2], 1:])
    assert all(boxes.shape[1] == 6 and boxes.dtype == np.float32 for boxes in per_image)


def test_split_by_batch_without_rows() -> None:
    per_image = split_by_batch(np.zeros((0, 7), dtype=np.float32), batch_size=2)
    assert [boxes.shape for boxes in per_image] == [(0, 6), (0, 6)]


def test_split_by_batch_rejects_bad_indices() -> None:
    with pytest.raises(InvalidArrayError, match="batch index 2 is outside a batch of 2 images"):
        split_by_batch(ROWS, batch_size=2)
    with pytest.raises(InvalidArrayError, match="whole numbers"):
        split_by_batch(ROWS + [0.5, 0, 0, 0, 0, 0, 0], batch_size=4)
    with pytest.raises(InvalidArrayError, match=r"\[N,7\+\]"):
        split_by_batch(ROWS[:, :6], batch_size=4)


def test_expand_boxes_grows_about_the_centre() -> None:
    boxes = np.array([[100, 100, 200, 150, 0.9]], dtype=np.float32)
    np.testing.assert_allclose(expand_boxes(boxes, 0.2, 640, 480), [[90, 95, 210, 155, 0.9]])


def test_expand_boxes_is_clipped() -> None:
    boxes = np.array([[0, 0, 100, 100], [600, 400, 640, 480]], dtype=np.float32)
    np.testing.assert_array_equal(
        expand_boxes(boxes, 1.0, 640, 480), [[0, 0, 150, 150], [580, 360, 640, 480]]
    )


def test_expand_boxes_rejects_a_negative_margin() -> None:
    with pytest.raises(InvalidOptionError, match="margin"):
        expand_boxes(np.zeros((1, 4)), -0.1, 10, 10)
