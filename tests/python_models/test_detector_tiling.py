"""Huge images by tiles: real faces pasted across tile borders of an 8000x6000 canvas, found once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from python_models.detectors import CenterFaceDetector, FaceThresholds, SessionSettings, TileSettings, with_tiles
from tests.huge_canvas import HEIGHT, WIDTH, huge_canvas, iou

FACES_MODEL = next(iter(sorted(Path(__file__).resolve().parents[2].glob("model_repository/faces/*/model.onnx"))), None)


def test_views_are_the_image_then_its_overlapping_tiles() -> None:
    image = np.zeros((6000, 8000, 3), dtype=np.uint8)
    views, origins = with_tiles([image, image[:500, :500]], TileSettings(above=4096, size=1280, overlap=256))
    assert len(views) == 1 + 8 * 6 + 1 and origins[0] == (0, 0, 0) and origins[-1] == (1, 0, 0)
    assert all(np.shares_memory(view, image) for view in views)  # views, not copies
    assert max(max(view.shape[:2]) for view in views[1:-1]) <= 1280


@pytest.mark.skipif(FACES_MODEL is None, reason="no exported faces model: run `python -m export ensure`")
def test_every_face_on_a_huge_canvas_is_found_once() -> None:
    canvas, expected = huge_canvas()
    assert canvas.shape == (HEIGHT, WIDTH, 3)
    detector = CenterFaceDetector(FACES_MODEL, 640, FaceThresholds(), SessionSettings(), TileSettings(above=4096))
    [found] = detector.detect([canvas])
    assert len(found) == len(expected)
    for box in expected:
        matches = [face for face in found if iou(box, face) > 0.5]
        assert len(matches) == 1, f"face at {box.round().tolist()} found {len(matches)} times"


def test_without_tiling_the_small_faces_are_lost() -> None:
    if FACES_MODEL is None:
        pytest.skip("no exported faces model")
    canvas, _ = huge_canvas()
    detector = CenterFaceDetector(FACES_MODEL, 640, FaceThresholds(), SessionSettings(), TileSettings(above=0))
    assert len(detector.detect([canvas])[0]) == 0
