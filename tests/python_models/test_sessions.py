"""ONNX Runtime sessions get the knobs config.pbtxt gives them, and batching does not change answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from python_models.detectors import SessionSettings, open_session
from python_models.model_config import configured_centerface, configured_yolo
from tests.photos import photo_pixels

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
FACES_MODEL = next(iter(sorted(REPOSITORY.glob("faces/*/model.onnx"))), None)
DETECT_MODEL = next(iter(sorted(REPOSITORY.glob("detect/*/model.onnx"))), None)
needs_models = pytest.mark.skipif(FACES_MODEL is None or DETECT_MODEL is None,
                                  reason="no exported models: run `python -m export ensure`")
PHOTOS = ("zidane.jpg", "bus.jpg", "astronaut.png")


@needs_models
@pytest.mark.parametrize(("allow_spinning", "entry"), [(True, "1"), (False, "0")])
def test_session_options_follow_the_settings(allow_spinning: bool, entry: str) -> None:
    session = open_session(FACES_MODEL, SessionSettings(intra_op_threads=1, allow_spinning=allow_spinning))
    options = session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == entry


def config(session_batch: int) -> dict:
    return {"parameters": {"session_batch": {"string_value": str(session_batch)},
                           "allow_spinning": {"string_value": "0"}}}


@needs_models
@pytest.mark.parametrize("build", [configured_yolo, configured_centerface], ids=["detect", "faces"])
def test_one_stacked_run_finds_what_single_runs_find(build) -> None:
    """Images of different sizes letterboxed into one array and run at once (session_batch 3)
    give the same boxes as one run per image (session_batch 1, the CPU default)."""
    images = [photo_pixels(name) for name in PHOTOS]
    model = DETECT_MODEL if build is configured_yolo else FACES_MODEL
    single = build(config(1), model.parent).detect(images)
    stacked = build(config(3), model.parent).detect(images)
    assert sum(len(rows) for rows in single) > 0
    for one, many in zip(single, stacked, strict=True):
        assert one.shape == many.shape
        np.testing.assert_allclose(one[:, :4], many[:, :4], atol=0.5)  # boxes, in pixels
        np.testing.assert_allclose(one[:, 4:], many[:, 4:], atol=1e-3)  # scores (and class ids)
