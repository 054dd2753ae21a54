"""export.publish: version numbering, validation before publishing, atomic promotion."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from export.centerface import convert_centerface
from export.errors import ModelValidationError, PublishError
from export.publish import MODEL_FILE, STAGING_PREFIX, has_published_model, next_version, publish_version
from export.smoke import validate_detect, validate_faces
from export.sources import default_centerface_onnx


def build_faces(version_dir: Path) -> None:
    convert_centerface(default_centerface_onnx(), version_dir / MODEL_FILE)


def test_next_version_counts_numeric_folders_only(tmp_path: Path) -> None:
    assert next_version(tmp_path / "absent") == 1
    assert next_version(tmp_path) == 1
    for name in ("1", "3", "latest", f"{STAGING_PREFIX}abc"):
        (tmp_path / name).mkdir()
    (tmp_path / "7").write_text("a file, not a version")
    assert next_version(tmp_path) == 4


def test_publishes_versions_one_then_two(tmp_path: Path) -> None:
    model_dir = tmp_path / "faces"
    assert not has_published_model(model_dir)
    first = publish_version(model_dir, build_faces, validate_faces)
    second = publish_version(model_dir, build_faces, validate_faces)
    assert (first, second) == (model_dir / "1", model_dir / "2")
    assert sorted(entry.name for entry in model_dir.iterdir()) == ["1", "2"]
    assert [entry.name for entry in second.iterdir()] == [MODEL_FILE]
    assert has_published_model(model_dir)


def test_failed_validation_publishes_nothing(tmp_path: Path) -> None:
    model_dir = tmp_path / "detect"
    with pytest.raises(ModelValidationError, match="labels.json"):
        publish_version(model_dir, build_faces, validate_detect)  # a face model is no detector
    assert list(model_dir.iterdir()) == []


def test_failed_build_publishes_nothing(tmp_path: Path) -> None:
    def build_into_missing_folder(version_dir: Path) -> None:
        (version_dir / "absent" / MODEL_FILE).write_bytes(b"")

    with pytest.raises(PublishError, match="absent"):
        publish_version(tmp_path, build_into_missing_folder, validate_faces)
    assert list(tmp_path.iterdir()) == []


def test_reader_never_sees_a_half_written_version(tmp_path: Path) -> None:
    source = default_centerface_onnx().read_bytes()
    sightings: list[tuple[str, int]] = []
    done = threading.Event()

    def slow_build(version_dir: Path) -> None:
        with (version_dir / MODEL_FILE).open("wb") as handle:
            for start in range(0, len(source), len(source) // 8):
                handle.write(source[start : start + len(source) // 8])
                handle.flush()
                time.sleep(0.02)

    def reader() -> None:
        while not done.is_set():
            for entry in tmp_path.iterdir():
                if entry.name.isdigit():
                    model = entry / MODEL_FILE
                    sightings.append((entry.name, model.stat().st_size if model.exists() else -1))
            time.sleep(0.001)

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        publish_version(tmp_path, slow_build, lambda version_dir: None)
        time.sleep(0.01)
    finally:
        done.set()
        watcher.join()
    assert sightings, "the reader never saw the published version"
    assert set(sightings) == {("1", len(source))}
