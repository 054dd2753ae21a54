"""The recall measure: which faces count as anonymised, on generated scenes of real faces (pure, no server)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imaging.blur import blur_regions
from perf.recall_measure import CHANGED_LEVELS, anonymised, face_change, face_changes, pixel_box
from tests.scenes import crowd


@pytest.fixture(scope="module")
def scene():
    return crowd(640, 360, 2, 4, 60)


def test_untouched_faces_change_by_nothing(scene) -> None:
    changes = face_changes(scene.pixels, scene.pixels.copy(), scene.boxes)
    assert changes == [0.0] * len(scene.boxes)
    assert not any(anonymised(change) for change in changes)


@pytest.mark.parametrize("kind", ["gaussian", "pixelate"])
def test_every_blurred_face_counts(scene, kind: str) -> None:
    output = blur_regions(scene.pixels, scene.boxes, kind=kind)
    changes = face_changes(scene.pixels, output, scene.boxes)
    assert all(change >= CHANGED_LEVELS for change in changes), changes


def test_a_face_blurred_only_over_its_top_half_does_not_count(scene) -> None:
    tops = scene.boxes.copy()
    tops[:, 3] = (scene.boxes[:, 1] + scene.boxes[:, 3]) / 2
    output = blur_regions(scene.pixels, tops)
    changes = face_changes(scene.pixels, output, scene.boxes)
    assert not any(anonymised(change) for change in changes), changes
    assert all(change < 0.5 for change in changes)  # the bottom quadrants are bit-identical


def test_one_level_everywhere_is_not_anonymisation(scene) -> None:
    shifted = np.clip(scene.pixels.astype(np.int16) + 1, 0, 255).astype(np.uint8)
    assert not any(anonymised(change) for change in face_changes(scene.pixels, shifted, scene.boxes))


def test_only_the_faces_blurred_count(scene) -> None:
    output = blur_regions(scene.pixels, scene.boxes[:3])
    found = [anonymised(change) for change in face_changes(scene.pixels, output, scene.boxes)]
    assert found == [True] * 3 + [False] * (len(scene.boxes) - 3)


def test_an_output_of_another_size_anonymises_nothing(scene) -> None:
    cropped = scene.pixels[:-1].copy()
    assert face_changes(scene.pixels, cropped, scene.boxes) == [0.0] * len(scene.boxes)
    assert face_changes(scene.pixels, None, scene.boxes) == [0.0] * len(scene.boxes)
    with pytest.raises(ValueError, match="differs from the input"):
        face_change(scene.pixels, cropped, scene.boxes[0])


def test_boxes_round_outwards_and_clip() -> None:
    assert pixel_box((10.2, 5.7, 20.1, 30.0), 100, 100) == (10, 5, 21, 30)
    assert pixel_box((-5, -3, 120, 80), 100, 50) == (0, 0, 100, 50)
    pixels = np.zeros((8, 8, 3), np.uint8)
    assert math.isnan(face_change(pixels, pixels, (3, 3, 4, 8)))  # 1 px wide: no quadrants
    assert not anonymised(math.nan)
