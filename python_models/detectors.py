"""The detectors behind `detect` and `faces`: ONNX Runtime sessions over letterboxed batches.

Pure Python over numpy and onnxruntime (no Triton import): boxes come back in the original
pixel coordinates of each image.

Huge images (longer side above ``TileSettings.above``) are also cut into overlapping tiles that
join the same letterboxed batches as every other image (each tile is a view: no full-size copy,
and only 640x640 float canvases are ever made); their boxes are shifted back and merged with the
whole-image boxes by :func:`imaging.tiling.merge_tiled_boxes`. The whole image stays in the batch
so that objects larger than a tile are still seen.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort

from imaging.boxes import split_by_batch
from imaging.centerface import decode_centerface
from imaging.letterbox import LetterboxTransform, boxes_to_original, letterbox_batch
from imaging.tiling import merge_tiled_boxes, tiles_for_size


@dataclass(frozen=True)
class SessionSettings:
    """How many images go into one session run, ONNX Runtime's thread count (0: its default), and
    whether its idle pool threads spin (its default) or sleep.

    Spinning threads keep burning the cores after a run; where other models share the cores
    (detect and faces side by side, decode/blur/encode beside them) that time is taken from them.
    """

    batch: int = 8
    intra_op_threads: int = 0
    allow_spinning: bool = True


def open_session(model_path: Path, settings: SessionSettings) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if settings.allow_spinning else "0")
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


@dataclass(frozen=True)
class TileSettings:
    """Images whose longer side exceeds ``above`` pixels (0: never) are also detected by tiles."""

    above: int = 0
    size: int = 1280
    overlap: int = 256

    @classmethod
    def from_parameters(cls, parameter: Callable[[str, str], str]) -> TileSettings:
        """From config.pbtxt's `tile_above`, `tile_size`, `tile_overlap` (``parameter(key, default)``)."""
        return cls(
            above=int(parameter("tile_above", "0")),
            size=int(parameter("tile_size", "1280")),
            overlap=int(parameter("tile_overlap", "256")),
        )


View = tuple[int, int, int]  # (image index, x, y) of a view's top-left corner in its image


def with_tiles(images: Sequence[np.ndarray], tiles: TileSettings) -> tuple[list[np.ndarray], list[View]]:
    """Every image, followed by its tiles when it is larger than ``tiles.above`` (all views)."""
    views: list[np.ndarray] = []
    origins: list[View] = []
    for index, image in enumerate(images):
        views.append(image)
        origins.append((index, 0, 0))
        height, width = image.shape[:2]
        if tiles.above and max(width, height) > tiles.above:
            for tile in tiles_for_size(width, height, tiles.size, tiles.overlap):
                views.append(tile.view(image))
                origins.append((index, tile.x, tile.y))
    return views, origins


def detect_with_tiles(
    images: Sequence[np.ndarray],
    detect_views: Callable[[Sequence[np.ndarray]], list[np.ndarray]],
    tiles: TileSettings,
    merge: Callable[[np.ndarray], np.ndarray],
) -> list[np.ndarray]:
    """Run ``detect_views`` over images and tiles in one go; per image, boxes merged across tiles."""
    views, origins = with_tiles(images, tiles)
    if len(views) == len(images):
        return detect_views(images)
    parts: list[list[np.ndarray]] = [[] for _ in images]
    for rows, (index, x, y) in zip(detect_views(views), origins):
        shifted = rows.copy()
        shifted[:, [0, 2]] += x
        shifted[:, [1, 3]] += y
        parts[index].append(shifted)
    return [merge(np.concatenate(found)) if len(found) > 1 else found[0] for found in parts]


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

    def __init__(
        self, model_path: Path, thresholds: YoloThresholds, settings: SessionSettings, tiles: TileSettings = TileSettings()
    ) -> None:
        self.session = open_session(model_path, settings)
        self.settings = settings
        self.tiles = tiles
        self.iou = thresholds.iou
        height, width = self.session.get_inputs()[0].shape[2:]
        self.input_size = (int(height), int(width))
        self._knobs = {
            "score_threshold": np.array([thresholds.score], dtype=np.float32),
            "iou_threshold": np.array([thresholds.iou], dtype=np.float32),
            "max_detections": np.array([thresholds.max_detections], dtype=np.int64),
        }

    def detect(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        merge = partial(merge_tiled_boxes, iou_threshold=self.iou, class_column=5)
        return detect_with_tiles(images, self._detect_views, self.tiles, merge)

    def _detect_views(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
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

    def __init__(
        self,
        model_path: Path,
        input_size: int,
        thresholds: FaceThresholds,
        settings: SessionSettings,
        tiles: TileSettings = TileSettings(),
    ) -> None:
        if input_size <= 0 or input_size % 32:
            raise ValueError(f"CenterFace input_size must be a positive multiple of 32, got {input_size}")
        self.session = open_session(model_path, settings)
        self.settings = settings
        self.tiles = tiles
        self.input_size = (input_size, input_size)
        self.thresholds = thresholds

    def detect(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        merge = partial(merge_tiled_boxes, iou_threshold=self.thresholds.iou)
        return detect_with_tiles(images, self._detect_views, self.tiles, merge)

    def _detect_views(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        found: list[np.ndarray] = []
        for chunk in chunks(images, self.settings.batch):
            batch, transforms = letterbox_batch(chunk, self.input_size, unit_scale=False)
            heatmap, scale, offset = self.session.run(["heatmap", "scale", "offset"], {"images": batch})
            faces = decode_centerface(
                heatmap, scale, offset, threshold=self.thresholds.score, iou_threshold=self.thresholds.iou
            )
            found += to_original(faces, transforms)
        return found
