"""The generated scenes: ground-truth boxes where the faces are, turned with the picture."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scenes import covered, crowd, missed, portrait, rotated, tight_crop


def test_a_crowd_has_one_box_per_cell_inside_its_cell() -> None:
    scene = crowd(1200, 600, 3, 6, 120)
    assert scene.size == (1200, 600) and scene.boxes.shape == (18, 4)
    heights = scene.boxes[:, 3] - scene.boxes[:, 1]
    assert heights.min() >= 0.9 * 120 - 1 and heights.max() <= 200  # 120 px +-10 %, clipped to the 200 px cell
    for index, (x1, y1, x2, y2) in enumerate(scene.boxes):
        row, col = divmod(index, 6)
        assert col * 200 <= x1 < x2 <= (col + 1) * 200 and row * 200 <= y1 < y2 <= (row + 1) * 200
    assert not scene.pixels.flags.writeable


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_turns_the_boxes_with_the_picture(degrees: int) -> None:
    scene = portrait("grace_hopper.jpg", 300)
    turned = rotated(scene, degrees)
    assert turned.pixels.shape == np.rot90(scene.pixels, degrees // 90).shape
    mask = np.zeros(scene.pixels.shape[:2], dtype=bool)
    x1, y1, x2, y2 = np.round(scene.boxes[0]).astype(int)
    mask[y1:y2, x1:x2] = True
    rows, cols = np.nonzero(np.rot90(mask, degrees // 90))
    np.testing.assert_allclose(turned.boxes[0], [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], atol=1)


def test_a_tight_crop_is_all_face_and_half_a_face_is_not_a_match() -> None:
    scene = tight_crop(512)
    assert scene.boxes.tolist() == [[0, 0, 512, scene.size[1]]]
    half = np.array([[0, 0, 256, scene.size[1], 0.9]], dtype=np.float32)
    whole = np.array([[0, 0, 512, scene.size[1], 0.9]], dtype=np.float32)
    assert missed(scene, half, containment=0.9, iou_threshold=0.9) and not missed(scene, whole, containment=0.9)
    assert covered(scene.boxes[0], half)  # the default match is looser: half a face counts
