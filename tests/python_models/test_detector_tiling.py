"""Huge images by tiles: real faces pasted across tile borders of an 8000x6000 canvas, found once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
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


def test_pass_parameters_come_from_the_config_and_a_bad_one_is_named() -> None:
    values = {"min_size": "48", "detectable_size": "32", "largest_size": "240", "frame_size": "128", "tile_size": "1024"}
    settings = TileSettings.from_parameters(lambda key, default: values.get(key, default))
    assert (settings.min_size, settings.detectable, settings.largest, settings.frame_size, settings.tile_size) == (48, 32, 240, 128, 1024)
    assert settings.tile_overlap == 256 and settings.step == 4  # fallbacks: PassSettings'
    with pytest.raises(InvalidOptionError, match="min_size"):
        TileSettings.from_parameters(lambda key, default: "many" if key == "min_size" else default)


@needs_model
@pytest.mark.parametrize("shape", [(1, 1), (7, 3000), (3000, 5)])
def test_tiny_and_extreme_shapes_run_every_pass(shape: tuple[int, int]) -> None:
    detector = CenterFaceDetector(FACES_MODEL, 640, FaceThresholds(), SessionSettings(), FACES_PASSES)
    image = np.full((*shape, 3), 128, dtype=np.uint8)
    [found] = detector.detect([image], thorough=True)
    assert found.shape[1] == 5 and len(found) == 0
