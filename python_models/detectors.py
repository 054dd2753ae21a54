"""The detectors behind `detect` and `faces`: ONNX Runtime sessions over letterboxed batches.

Pure Python over numpy and onnxruntime (no Triton import): boxes come back in the original
pixel coordinates of each image.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from imaging.boxes import split_by_batch
from imaging.centerface import decode_centerface
from imaging.letterbox import LetterboxTransform, boxes_to_original, letterbox_batch


@dataclass(frozen=True)
class SessionSettings:
    """How many images go into one session run, and ONNX Runtime's thread count (0: its default)."""

    batch: int = 8
    intra_op_threads: int = 0


def open_session(model_path: Path, settings: SessionSettings) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def chunks(images: Sequence[np.ndarray], size: int) -> Iterator[Sequence[np.ndarray]]:
    for start in range(0, len(images), size):
        yield images[start : start + size]


def to_original(boxes: np.ndarray, transforms: Sequence[LetterboxTransform]) -> list[np.ndarray]:
    """Per image [k, 4+] rows with their first four columns mapped back to original pixels."""
    mapped = []
    for rows, transform in zip(boxes, transforms):
        rows = rows.copy()
        rows[:, :4] = boxes_to_original(rows[:, :4], transform)
        mapped.append(rows)
    return mapped


def load_class_names(labels_path: Path) -> dict[int, str]:
    """labels.json written by export/: {"0": "person", ...}."""
    return {int(key): str(name) for key, name in json.loads(labels_path.read_text()).items()}


@dataclass(frozen=True)
class YoloThresholds:
    score: float = 0.25
    iou: float = 0.45
    max_detections: int = 100


class YoloDetector:
    """A YOLO ONNX graph exported with NMS inside: images -> [k, 6] rows (x1, y1, x2, y2, score, class_id)."""

    def __init__(self, model_path: Path, thresholds: YoloThresholds, settings: SessionSettings) -> None:
        self.session = open_session(model_path, settings)
        self.settings = settings
        height, width = self.session.get_inputs()[0].shape[2:]
        self.input_size = (int(height), int(width))
        self._knobs = {
            "score_threshold": np.array([thresholds.score], dtype=np.float32),
            "iou_threshold": np.array([thresholds.iou], dtype=np.float32),
            "max_detections": np.array([thresholds.max_detections], dtype=np.int64),
        }

    def detect(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        found: list[np.ndarray] = []
        for chunk in chunks(images, self.settings.batch):
            batch, transforms = letterbox_batch(chunk, self.input_size)
            (rows,) = self.session.run(["detections"], {"images": batch, **self._knobs})
            found += to_original(split_by_batch(rows, len(chunk)), transforms)
        return found


@dataclass(frozen=True)
class FaceThresholds:
    score: float = 0.5
    iou: float = 0.3


class CenterFaceDetector:
    """CenterFace on RGB 0..255 input whose sides are multiples of 32: images -> [k, 5] (x1, y1, x2, y2, score)."""

    def __init__(self, model_path: Path, input_size: int, thresholds: FaceThresholds, settings: SessionSettings) -> None:
        if input_size <= 0 or input_size % 32:
            raise ValueError(f"CenterFace input_size must be a positive multiple of 32, got {input_size}")
        self.session = open_session(model_path, settings)
        self.settings = settings
        self.input_size = (input_size, input_size)
        self.thresholds = thresholds

    def detect(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        found: list[np.ndarray] = []
        for chunk in chunks(images, self.settings.batch):
            batch, transforms = letterbox_batch(chunk, self.input_size, unit_scale=False)
            heatmap, scale, offset = self.session.run(["heatmap", "scale", "offset"], {"images": batch})
            faces = decode_centerface(
                heatmap, scale, offset, threshold=self.thresholds.score, iou_threshold=self.thresholds.iou
            )
            found += to_original(faces, transforms)
        return found
