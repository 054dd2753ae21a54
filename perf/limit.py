"""The limit: the detector and the face model alone in ONNX Runtime, no server, best batch size.

Each image needs one run of each model, so the ceiling in images/s at batch size b is
b / (t_detect(b) + t_faces(b)), with the sessions opened exactly as the Triton models open them
(same files, same config knobs, same thread settings) on the same cores. The inputs are the
benchmark photos already letterboxed: decoding, letterboxing, blurring and encoding are the
pipeline's own work on top of this ceiling.

The batch sweep takes the fastest of repeated runs (on a shared machine other processes only
ever add time) to find the best batch size. The ceiling the pipeline is compared with is then
measured at that batch between the pipeline's own measurements (``LimitModels.throughput``:
images over elapsed time, like the load tests), so both see the same machine.
"""

from __future__ import annotations

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
    detect_ms: float  # fastest session run over the whole batch
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


def yolo_feeds(session: ort.InferenceSession, batch: np.ndarray, repository: Path) -> dict[str, np.ndarray]:
    """The image batch plus the threshold inputs of the NMS exported in the graph, from config.pbtxt."""
    config = read_config(repository / "detect")
    knobs: dict[str, np.ndarray] = {
        "score_threshold": np.array([float(parameter(config, "score_threshold", "0.25"))], dtype=np.float32),
        "iou_threshold": np.array([float(parameter(config, "iou_threshold", "0.45"))], dtype=np.float32),
        "max_detections": np.array([int(parameter(config, "max_detections", "100"))], dtype=np.int64),
    }
    names = [item.name for item in session.get_inputs()]
    return {"images": batch, **{name: value for name, value in knobs.items() if name in names}}


Feeds = dict[str, np.ndarray]


class LimitModels:
    """Both sessions, opened as the Triton models open them, and letterboxed batches of the photos."""

    def __init__(self, repository: Path, payloads: Sequence[bytes]) -> None:
        decoder = ImageDecoder()
        self.pixels = [decoder.decode(payload).pixels for payload in payloads]
        self.repository = repository
        self.detector, self.faces = load_detector(repository), load_face_detector(repository)
        self.threads = parameter(read_config(repository / "detect"), "intra_op_threads", "0")
        self._feeds: dict[int, tuple[Feeds, Feeds]] = {}

    def feeds(self, batch: int) -> tuple[Feeds, Feeds]:
        if batch not in self._feeds:
            images = [self.pixels[index % len(self.pixels)] for index in range(batch)]
            detect_batch = letterbox_batch(images, self.detector.input_size)[0]
            face_batch = letterbox_batch(images, self.faces.input_size, unit_scale=False)[0]
            self._feeds[batch] = (yolo_feeds(self.detector.session, detect_batch, self.repository), {"images": face_batch})
        return self._feeds[batch]

    def sweep(self, batches: Sequence[int], budget_s: float) -> Limit:
        """Fastest session time of both models at every batch size; ``budget_s`` is shared among them."""
        per_run = budget_s / (2 * len(batches))
        points = []
        for batch in batches:
            detect_feeds, face_feeds = self.feeds(batch)
            points.append(LimitPoint(batch, _fastest_ms(self.detector.session, detect_feeds, per_run),
                                     _fastest_ms(self.faces.session, face_feeds, per_run)))
        return Limit(points=tuple(points), threads=self.threads)

    def throughput(self, batch: int, duration_s: float) -> tuple[float, int]:
        """(images/s, images) running both models back to back on ``batch`` images for ``duration_s``."""
        detect_feeds, face_feeds = self.feeds(batch)
        self.detector.session.run(None, detect_feeds)  # warm-up
        images, started = 0, time.perf_counter()
        while images == 0 or time.perf_counter() - started < duration_s:
            self.detector.session.run(None, detect_feeds)
            self.faces.session.run(None, face_feeds)
            images += batch
        return images / (time.perf_counter() - started), images


def _fastest_ms(session: ort.InferenceSession, feeds: Feeds, budget_s: float) -> float:
    session.run(None, feeds)  # warm-up: first runs allocate
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < 20):
        started = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - started)
    return 1000 * min(times)
