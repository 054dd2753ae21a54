"""The whole anonymisation in one process, one photo at a time: the seed design, without Triton.

It is loaded the way the Triton models load themselves: the same ONNX files (latest version),
the same knobs read from each model's config.pbtxt, the same imaging / python_models code.
Only the serving differs: no server between steps, no batching, no queues.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contracts.metadata import AnonymizedImage, BlurApplied
from imaging.blur import blur_regions
from imaging.codec import ImageDecoder, ImageEncoder, parse_encode_options
from imaging.formats import CONTENT_TYPES, default_output_format
from perf.repository import served_config, served_version_dir
from python_models.detectors import CenterFaceDetector, YoloDetector, load_class_names
from python_models.metadata import blur_plan, image_metadata, input_image
from python_models.model_config import (
    configured_blur,
    configured_centerface,
    configured_decoder,
    configured_encoder,
    configured_yolo,
)


@dataclass(frozen=True)
class Processed:
    result: bytes
    content_type: str
    metadata: AnonymizedImage  # pipeline's METADATA before encode


def load_detector(repository: Path, model: str = "detect") -> YoloDetector:
    """A YOLO model of ``repository`` (`detect`, `plates`) as served."""
    return configured_yolo(served_config(repository / model), served_version_dir(repository / model))


def load_face_detector(repository: Path) -> CenterFaceDetector:
    return configured_centerface(served_config(repository / "faces"), served_version_dir(repository / "faces"))


class InProcessPipeline:
    """decode -> detect, faces -> blur -> encode for one photo, in the calling thread.

    The ONNX Runtime sessions are shared by every thread (their run() is thread-safe); the
    nvImageCodec decoder and encoder are not (two threads decoding at once fail with "Broken
    promise" and can bring the process down), so each thread builds its own on first use.
    """

    def __init__(self, repository: Path) -> None:
        self.decode_config = served_config(repository / "decode")
        self.encode_config = served_config(repository / "encode")
        self._codecs = threading.local()
        self.detector = load_detector(repository)
        self.class_names = load_class_names(served_version_dir(repository / "detect") / "labels.json")
        self.face_detector = load_face_detector(repository)
        self.blur = configured_blur(served_config(repository / "blur"))

    @property
    def decoder(self) -> ImageDecoder:
        if not hasattr(self._codecs, "decoder"):
            self._codecs.decoder = configured_decoder(self.decode_config)
        return self._codecs.decoder

    @property
    def encoder(self) -> ImageEncoder:
        if not hasattr(self._codecs, "encoder"):
            self._codecs.encoder = configured_encoder(self.encode_config)
        return self._codecs.encoder

    def process(self, data: bytes) -> Processed:
        """Raises the imaging.errors.ImageError subclass that describes a bad photo."""
        decoded = self.decoder.decode(data)
        pixels = decoded.pixels
        [rows] = self.detector.detect([pixels])
        [face_rows] = self.face_detector.detect([pixels])
        detections = {**self._record("detect", self.detector.thresholds.score), "detections": [self._detection(row) for row in rows]}
        faces = {**self._record("faces", self.face_detector.thresholds.score), "faces": [_face(row) for row in face_rows]}
        boxes, regions = blur_plan(detections, faces, self.blur, decoded.width, decoded.height)
        blurred = blur_regions(pixels, boxes, kind=self.blur.kind, strength=self.blur.strength)
        options = parse_encode_options({}, default_output_format(decoded.source_format))
        result = self.encoder.encode(blurred, options)
        info = {**input_image(decoded), "versions": {"decode": "in-process"}}
        blur = BlurApplied(kind=self.blur.kind, strength=self.blur.strength)
        metadata = image_metadata(info, detections, faces, regions, blur, "in-process")
        return Processed(result, CONTENT_TYPES[options.format], metadata)

    @staticmethod
    def _record(model: str, threshold: float) -> dict[str, Any]:
        """A detector record as the served models answer it (one whole pass at the floor, no uncertain rows)."""
        return {"model": model, "version": "in-process", "threshold": threshold, "floor": threshold, "skipped": False, "passes": []}

    def _detection(self, row: np.ndarray) -> dict[str, Any]:
        class_id = int(row[5])
        return {"box": [round(float(value), 1) for value in row[:4]], "score": round(float(row[4]), 4),
                "class_id": class_id, "class_name": self.class_names.get(class_id, str(class_id))}


def _face(row: np.ndarray) -> dict[str, Any]:
    return {"box": [round(float(value), 1) for value in row[:4]], "score": round(float(row[4]), 4)}
