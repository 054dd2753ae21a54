"""export.smoke: the checks a version passes before it is published."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from export.errors import ModelValidationError
from export.smoke import validate_detect, validate_faces


def test_real_versions_pass(detector_dir: Path, faces_model: Path) -> None:
    validate_detect(detector_dir)
    validate_faces(faces_model.parent)


def test_an_extra_file_fails(tmp_path: Path, faces_model: Path) -> None:
    shutil.copy(faces_model, tmp_path / faces_model.name)
    (tmp_path / "notes.txt").write_text("not part of a version\n")
    with pytest.raises(ModelValidationError, match="notes.txt"):
        validate_faces(tmp_path)


def test_wrong_contract_fails(tmp_path: Path, faces_model: Path) -> None:
    shutil.copy(faces_model, tmp_path / faces_model.name)
    (tmp_path / "labels.json").write_text('{"0": "face"}')
    with pytest.raises(ModelValidationError, match="score_threshold"):
        validate_detect(tmp_path)


def test_unloadable_model_fails(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(ModelValidationError, match="cannot load"):
        validate_faces(tmp_path)
