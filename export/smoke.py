"""Smoke tests run on a built version folder before it is published.

Each loads the model with ONNX Runtime on the CPU, checks the served tensor contract (names,
dtypes, ranks) and runs one synthetic image through it. They catch a broken or mis-named graph,
not a poorly trained one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from export import centerface, nms
from export.errors import ModelValidationError
from export.labels import LABELS_FILE, read_labels
from export.publish import ADAPTER_FILE, MODEL_FILE

logger = logging.getLogger(__name__)

DETECT_FILES = frozenset({MODEL_FILE, LABELS_FILE})
FACES_FILES = frozenset({MODEL_FILE})
_FACES_SMOKE_SIZE = (96, 128)  # height, width: multiples of 32, not square, to catch swapped axes
_GREY = 114 / 255


def validate_detect(version_dir: Path) -> None:
    """Check a detector version: files, contract, and one grey canvas giving [K, 7] rows."""
    _check_files(version_dir, DETECT_FILES)
    class_count = len(read_labels(version_dir / LABELS_FILE))
    session = _session(version_dir / MODEL_FILE)
    _check_names(session, [nms.IMAGES, nms.SCORE_THRESHOLD, nms.IOU_THRESHOLD, nms.MAX_DETECTIONS], [nms.DETECTIONS])
    height, width = session.get_inputs()[0].shape[2:]
    feed: dict[str, np.ndarray] = {
        nms.IMAGES: np.full((1, 3, height, width), _GREY, np.float32),
        nms.SCORE_THRESHOLD: np.array([0.001], np.float32),
        nms.IOU_THRESHOLD: np.array([0.5], np.float32),
        nms.MAX_DETECTIONS: np.array([10], np.int64),
    }
    (detections,) = _run(session, feed)
    if detections.dtype != np.float32 or detections.ndim != 2 or detections.shape[1] != len(nms.DETECTION_COLUMNS):
        raise ModelValidationError(f"detections must be float32 [K, 7], got {detections.dtype} {detections.shape}")
    if detections.size and not np.all(detections[:, 6] < class_count):
        raise ModelValidationError(f"class ids exceed the {class_count} labels")
    logger.info("detector %s passed its smoke test (%d rows)", version_dir, len(detections))


def validate_faces(version_dir: Path) -> None:
    """Check a CenterFace version: files, contract, and output maps at a quarter of the input size."""
    _check_files(version_dir, FACES_FILES)
    session = _session(version_dir / MODEL_FILE)
    _check_names(session, [centerface.IMAGES], list(centerface.OUTPUT_CHANNELS))
    height, width = _FACES_SMOKE_SIZE
    outputs = _run(session, {centerface.IMAGES: np.full((1, 3, height, width), 114.0, np.float32)})
    for output, (name, channels) in zip(outputs, centerface.OUTPUT_CHANNELS.items(), strict=True):
        if output.shape != (1, channels, height // 4, width // 4):
            raise ModelValidationError(f"{name} has shape {output.shape} for a {height}x{width} input")
    logger.info("face detector %s passed its smoke test", version_dir)


def _check_files(version_dir: Path, expected: frozenset[str]) -> None:
    present = {entry.name for entry in version_dir.iterdir()} - {ADAPTER_FILE}
    if present != expected:
        raise ModelValidationError(f"{version_dir} holds {sorted(present)}, expected exactly {sorted(expected)}")


def _session(model_path: Path) -> Any:
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime's errors share no base class narrower than Exception
        raise ModelValidationError(f"ONNX Runtime cannot load {model_path}: {error}") from error


def _check_names(session: Any, inputs: list[str], outputs: list[str]) -> None:
    actual_inputs = [value.name for value in session.get_inputs()]
    actual_outputs = [value.name for value in session.get_outputs()]
    if actual_inputs != inputs or actual_outputs != outputs:
        raise ModelValidationError(
            f"expected inputs {inputs} and outputs {outputs}, got {actual_inputs} and {actual_outputs}"
        )


def _run(session: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    try:
        return session.run(None, feed)
    except Exception as error:  # see _session
        raise ModelValidationError(f"smoke inference failed: {error}") from error
