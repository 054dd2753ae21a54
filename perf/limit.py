"""The limit: the detector and the face model alone in ONNX Runtime, no server, best batch size.

Each image needs one run of each model, so the ceiling in images/s at batch size b is
b / (t_detect(b) + t_faces(b)), with the sessions opened exactly as the Triton models open them
(same files, same config knobs, same thread settings) on the same cores. The inputs are the
benchmark photos already letterboxed: decoding, letterboxing, blurring and encoding are the
pipeline's own work on top of this ceiling.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from imaging.codec import ImageDecoder
from imaging.letterbox import letterbox_batch
from perf.baseline.pipeline import load_detector, load_face_detector
from perf.repository import parameter, read_config


@dataclass(frozen=True)
class LimitPoint:
    batch: int
    detect_ms: float  # median time of one session run over the whole batch
    faces_ms: float

    @property
    def images_per_s(self) -> float:
        return 1000 * self.batch / (self.detect_ms + self.faces_ms)


@dataclass(frozen=True)
class Limit:
    points: tuple[LimitPoint, ...]
    threads: str  # ONNX Runtime intra-op threads as configured ("0" = its default, one per core)

    @property
    def best(self) -> LimitPoint:
        return max(self.points, key=lambda point: point.images_per_s)


def _median_ms(session: ort.InferenceSession, feeds: dict[str, np.ndarray], budget_s: float) -> float:
    session.run(None, feeds)  # warm-up: first runs allocate
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < 20):
        started = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def yolo_feeds(session: ort.InferenceSession, batch: np.ndarray, repository: Path) -> dict[str, np.ndarray]:
    """The image batch plus the threshold inputs of the NMS exported in the graph, from config.pbtxt."""
    config = read_config(repository / "detect")
    knobs = {
        "score_threshold": np.array([float(parameter(config, "score_threshold", "0.25"))], dtype=np.float32),
        "iou_threshold": np.array([float(parameter(config, "iou_threshold", "0.45"))], dtype=np.float32),
        "max_detections": np.array([int(parameter(config, "max_detections", "100"))], dtype=np.int64),
    }
    names = [item.name for item in session.get_inputs()]
    return {"images": batch, **{name: value for name, value in knobs.items() if name in names}}


def _batch(pixels: Sequence[np.ndarray], size: int, input_size: tuple[int, int], unit_scale: bool) -> np.ndarray:
    images = [pixels[index % len(pixels)] for index in range(size)]
    return letterbox_batch(images, input_size, unit_scale=unit_scale)[0]


def measure_limit(repository: Path, payloads: Sequence[bytes], batches: Sequence[int], budget_s: float) -> Limit:
    """Median session time of both models at every batch size; ``budget_s`` is shared among them."""
    decoder = ImageDecoder()
    pixels = [decoder.decode(payload).pixels for payload in payloads]
    detector, faces = load_detector(repository), load_face_detector(repository)
    per_run = budget_s / (2 * len(batches))
    points = []
    for size in batches:
        detect_feeds = yolo_feeds(detector.session, _batch(pixels, size, detector.input_size, True), repository)
        face_feeds = {"images": _batch(pixels, size, faces.input_size, False)}
        points.append(
            LimitPoint(size, _median_ms(detector.session, detect_feeds, per_run), _median_ms(faces.session, face_feeds, per_run))
        )
    threads = parameter(read_config(repository / "detect"), "intra_op_threads", "0")
    return Limit(points=tuple(points), threads=threads)
