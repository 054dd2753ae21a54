"""Huge images by tiles: real faces pasted across tile borders of an 8000x6000 canvas, found once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imaging.passes import View
from python_models.detectors import CenterFaceDetector, FaceThresholds, SessionSettings, TileSettings
from tests.huge_canvas import HEIGHT, WIDTH, huge_canvas, iou

FACES_MODEL = next(iter(sorted(Path(__file__).resolve().parents[2].glob("model_repository/faces/*/model.onnx"))), None)
needs_model = pytest.mark.skipif(FACES_MODEL is None, reason="no exported faces model: run `python -m export ensure`")
FACES_PASSES = TileSettings(min_size=48, detectable=32, largest=240, tile_size=1280, tile_overlap=256, frame_size=128)


def test_a_view_renders_a_slice_of_the_original() -> None:
    image = np.zeros((6000, 8000, 3), dtype=np.uint8)
    view = View(0, "tiles", 1000, 2000, 1280, 1280, (1280, 1280))
    assert np.shares_memory(view.render(image), image)  # no copy when nothing is resized or turned


@needs_model
def test_every_face_on_a_huge_canvas_is_found_once() -> None:
    canvas, expected = huge_canvas()
    assert canvas.shape == (HEIGHT, WIDTH, 3)
    detector = CenterFaceDetector(FACES_MODEL, 640, FaceThresholds(), SessionSettings(), FACES_PASSES)
    [found] = detector.detect([canvas])
    assert len(found) == len(expected)
    for box in expected:
        matches = [face for face in found if iou(box, face) > 0.5]
        assert len(matches) == 1, f"face at {box.round().tolist()} found {len(matches)} times"


@needs_model
def test_without_pyramid_levels_the_small_faces_are_lost() -> None:
    canvas, _ = huge_canvas()
    detector = CenterFaceDetector(FACES_MODEL, 640, FaceThresholds(), SessionSettings(), TileSettings(min_size=0))
    assert detector.passes_for(WIDTH, HEIGHT) == [{"kind": "whole", "scale": 0.08, "count": 1, "rotations": [0]}]
    assert len(detector.detect([canvas])[0]) == 0
