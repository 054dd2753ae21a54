"""ONNX Runtime sessions get the knobs config.pbtxt gives them."""

from __future__ import annotations

from pathlib import Path

import pytest

from python_models.detectors import SessionSettings, open_session

FACES_MODEL = next(iter(sorted(Path(__file__).resolve().parents[2].glob("model_repository/faces/*/model.onnx"))), None)


@pytest.mark.skipif(FACES_MODEL is None, reason="no exported faces model: run `python -m export ensure`")
@pytest.mark.parametrize(("allow_spinning", "entry"), [(True, "1"), (False, "0")])
def test_session_options_follow_the_settings(allow_spinning: bool, entry: str) -> None:
    session = open_session(FACES_MODEL, SessionSettings(intra_op_threads=1, allow_spinning=allow_spinning))
    options = session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == entry
