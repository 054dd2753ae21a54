"""export.cli: `python -m export detect|faces|ensure`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import onnxruntime
import pytest

from export.cli import main


def test_faces_prints_the_new_version(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["faces", "--repository", str(tmp_path)]) == 0
    assert capfd.readouterr().out == f"{tmp_path / 'faces' / '1'}\n"
    assert sorted(entry.name for entry in (tmp_path / "faces" / "1").iterdir()) == ["model.onnx", "model.py"]
    assert (tmp_path / "faces" / "1" / "model.py").readlink() == Path("..") / "model.py"


def test_detect_from_an_architecture_yaml(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    argv = ["detect", "--weights", "yolo11n.yaml", "--imgsz", "320", "--repository", str(tmp_path)]
    assert main(argv) == 0
    version_dir = tmp_path / "detect" / "1"
    assert capfd.readouterr().out == f"{version_dir}\n"  # ultralytics' progress went to stderr
    assert sorted(entry.name for entry in version_dir.iterdir()) == ["labels.json", "model.onnx", "model.py"]
    assert len(json.loads((version_dir / "labels.json").read_text())) == 80
    session = onnxruntime.InferenceSession(str(version_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", 3, 320, 320]


def test_a_failure_exits_nonzero_and_publishes_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["faces", "--onnx", str(tmp_path / "absent.onnx"), "--repository", str(tmp_path / "repo")]) == 1
    assert capfd.readouterr().out == ""
    assert "absent.onnx" in caplog.text
    assert list((tmp_path / "repo").glob("faces/*")) == []


def test_plates_publishes_the_licence_plate_detector(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["plates", "--repository", str(tmp_path)]) == 0
    version_dir = tmp_path / "plates" / "1"
    assert capfd.readouterr().out == f"{version_dir}\n"
    assert sorted(entry.name for entry in version_dir.iterdir()) == ["labels.json", "model.onnx", "model.py"]
    assert json.loads((version_dir / "labels.json").read_text()) == {"0": "license_plate"}


def test_ensure_module_entry_point_honours_the_environment(
    tmp_path: Path, detector_dir: Path, plates_dir: Path, faces_model: Path
) -> None:
    shutil.copytree(detector_dir, tmp_path / "detect" / "1")
    shutil.copytree(plates_dir, tmp_path / "plates" / "2")
    shutil.copytree(faces_model.parent, tmp_path / "faces" / "3")
    env = {**os.environ, "MODEL_REPOSITORY": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "export", "ensure"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout) == (0, ""), result.stderr
    assert "already has a published model" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["detect", "faces", "plates"]
