"""The batching-off copy of the model repository, written through model_config_pb2."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf.errors import ConfigError
from perf.repository import (
    Override,
    copy_with_overrides,
    copy_without_batching,
    latest_version_dir,
    parameter,
    read_config,
    served_version_dir,
)

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
COMPOSING = ["decode", "detect", "faces", "blur", "encode"]


def test_the_copy_has_no_dynamic_batching_and_the_same_shapes(tmp_path: Path) -> None:
    copy = copy_without_batching(REPOSITORY, tmp_path / "repository")
    for name in COMPOSING:
        original, changed = read_config(REPOSITORY / name), read_config(copy / name)
        assert original.HasField("dynamic_batching")
        assert not changed.HasField("dynamic_batching")
        assert changed.max_batch_size == original.max_batch_size
        assert list(changed.input) == list(original.input) and list(changed.output) == list(original.output)
        assert dict(changed.parameters) == dict(original.parameters)
    assert read_config(copy / "pipeline") == read_config(REPOSITORY / "pipeline")


def test_the_original_repository_is_left_alone(tmp_path: Path) -> None:
    before = {name: (REPOSITORY / name / "config.pbtxt").read_text() for name in COMPOSING}
    copy_without_batching(REPOSITORY, tmp_path / "repository")
    assert {name: (REPOSITORY / name / "config.pbtxt").read_text() for name in COMPOSING} == before


def test_links_stay_links(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "model" / "1").mkdir(parents=True)
    (source / "model" / "config.pbtxt").write_text('name: "model" backend: "python" max_batch_size: 4\n'
                                                   "dynamic_batching { max_queue_delay_microseconds: 100 }\n")
    (source / "model" / "model.py").write_text("")
    (source / "model" / "1" / "model.py").symlink_to("../model.py")
    copy = copy_without_batching(source, tmp_path / "copy")
    assert (copy / "model" / "1" / "model.py").is_symlink()
    assert not read_config(copy / "model").HasField("dynamic_batching")


def test_parameters_and_versions_are_read_as_the_models_read_them(tmp_path: Path) -> None:
    for version in ("1", "2", "10", "staging"):
        (tmp_path / version).mkdir()
    assert latest_version_dir(tmp_path).name == "10"
    config = read_config(REPOSITORY / "detect")
    assert parameter(config, "no_such_knob", "fallback") == "fallback"
    assert float(parameter(config, "score_threshold", "x")) > 0


def test_overrides_set_parameters_and_scalar_fields(tmp_path: Path) -> None:
    overrides = [Override.parse("detect.intra_op_threads=1"), Override.parse(" faces.max_batch_size = 8")]
    copy = copy_with_overrides(REPOSITORY, tmp_path / "repository", overrides)
    assert parameter(read_config(copy / "detect"), "intra_op_threads", "") == "1"
    assert read_config(copy / "faces").max_batch_size == 8
    assert str(overrides[1]) == "faces.max_batch_size=8"


@pytest.mark.parametrize("raw", ["detect", "detect.=1", ".key=1", "detect.key="])
def test_malformed_overrides_are_refused(raw: str) -> None:
    with pytest.raises(ConfigError):
        Override.parse(raw)


@pytest.mark.parametrize("raw", ["nosuchmodel.key=1", "detect.input=1", "detect.dynamic_batching=1"])
def test_overrides_that_cannot_apply_are_refused(raw: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        copy_with_overrides(REPOSITORY, tmp_path / "repository", [Override.parse(raw)])


def _model(root: Path, name: str = "model") -> Path:
    model_dir = root / name
    (model_dir / "configs").mkdir(parents=True)
    for version in ("1", "2"):
        (model_dir / version).mkdir()
    text = f'name: "{name}" backend: "python" max_batch_size: 4 dynamic_batching {{ max_queue_delay_microseconds: 100 }}\n'
    (model_dir / "config.pbtxt").write_text(text)
    (model_dir / "configs" / "serving.pbtxt").write_text(text + "version_policy { specific { versions: [1] } }\n")
    return model_dir


def test_the_served_config_and_pinned_version_are_the_ones_read(tmp_path: Path) -> None:
    model_dir = _model(tmp_path)
    assert read_config(model_dir).version_policy.specific.versions == [1]
    assert served_version_dir(model_dir).name == "1"
    assert latest_version_dir(model_dir).name == "2"


def test_copies_edit_every_config_file_of_a_model(tmp_path: Path) -> None:
    _model(tmp_path / "source")
    copy = copy_without_batching(tmp_path / "source", tmp_path / "off")
    for path in (copy / "model" / "config.pbtxt", copy / "model" / "configs" / "serving.pbtxt"):
        assert "dynamic_batching" not in path.read_text()
    copy = copy_with_overrides(tmp_path / "source", tmp_path / "what-if", [Override.parse("model.threads=1")])
    for path in (copy / "model" / "config.pbtxt", copy / "model" / "configs" / "serving.pbtxt"):
        assert 'key: "threads"' in path.read_text()
