"""triton_launcher.model_config: configs parsed and derived through Triton's protobuf."""

from __future__ import annotations

import pytest

from tests.triton.repositories import REPOSITORY
from triton_launcher.errors import RepositoryStateError
from triton_launcher.model_config import (
    config_text,
    parse_config,
    pinned_ensemble_config,
    read_config,
    specific_versions,
    step_models,
    with_specific_versions,
)


def test_latest_policy_has_no_specific_versions_and_deriving_does_not_mutate() -> None:
    detect = read_config(REPOSITORY / "detect" / "config.pbtxt")
    assert specific_versions(detect) is None
    pinned = with_specific_versions(detect, [3, 1])
    assert specific_versions(pinned) == [1, 3] and specific_versions(detect) is None


def test_printed_config_parses_back_with_its_header_as_comments() -> None:
    detect = with_specific_versions(read_config(REPOSITORY / "detect" / "config.pbtxt"), [2])
    text = config_text(detect, "generated\nsecond line")
    assert text.startswith("# generated\n# second line\n") and parse_config(text, "test") == detect


def test_pinned_ensemble_calls_the_pinned_model_and_keeps_the_other_steps() -> None:
    pipeline = read_config(REPOSITORY / "pipeline" / "config.pbtxt")
    pinned = pinned_ensemble_config(pipeline, "pipeline.detect.v2", "detect", "detect.v2")
    assert step_models(pinned) == [name if name != "detect" else "detect.v2" for name in step_models(pipeline)]
    assert pinned.name == "pipeline.detect.v2" and pipeline.name == "pipeline"
    assert list(pinned.input) == list(pipeline.input) and list(pinned.output) == list(pipeline.output)


def test_invalid_text_names_its_source() -> None:
    with pytest.raises(RepositoryStateError, match="somewhere.pbtxt is not a valid model config"):
        parse_config("name: ", "somewhere.pbtxt")
