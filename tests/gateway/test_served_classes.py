"""gateway.inference.classes without Triton: classes read from a repository's served versions."""

from __future__ import annotations

from pathlib import Path

from gateway.inference.classes import model_classes, served_classes
from triton_launcher.repository import ModelRepository


def make_repository(root: Path) -> ModelRepository:
    for name, extra in [("detect", ""), ("faces", 'parameters { key: "class_name" value: { string_value: "face" } }'), ("encode", "")]:
        (root / name / "1").mkdir(parents=True)
        (root / name / "config.pbtxt").write_text(f'name: "{name}" backend: "python" max_batch_size: 4 {extra}\n')
    (root / "detect" / "2").mkdir()
    (root / "detect" / "1" / "labels.json").write_text('{"0": "Normal", "1": "Fall"}')  # exported before standard names
    (root / "detect" / "2" / "labels.json").write_text('{"0": "person", "1": "car"}')
    return ModelRepository(root)


def test_classes_come_from_the_served_version_in_standard_names(tmp_path: Path) -> None:
    repository = make_repository(tmp_path)
    assert model_classes(repository, "detect", 1) == ["person"]
    assert model_classes(repository, "detect", 2) == ["car", "person"]
    assert model_classes(repository, "faces", 1) == ["face"]
    assert model_classes(repository, "encode", 1) == []
    models = [{"name": "detect", "ready": [1, 2]}, {"name": "faces", "ready": [1]}, {"name": "encode", "ready": [1]},
              {"name": "plates", "ready": []}]
    assert served_classes(repository, models) == {"detect": ["car", "person"], "faces": ["face"]}


def test_unreadable_labels_list_nothing(tmp_path: Path) -> None:
    repository = make_repository(tmp_path)
    (tmp_path / "detect" / "2" / "labels.json").write_text("{not json")
    assert model_classes(repository, "detect", 2) == []
