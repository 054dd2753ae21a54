"""The detectors behind `detect`, `plates` and `faces`: ONNX Runtime sessions over planned views.

Pure Python over numpy and onnxruntime (no Triton import): boxes come back in the original
pixel coordinates of each image.

Each image is looked at through the passes that :mod:`imaging.passes` plans from its size (a
context `frame` pass, the `whole` 640 px view, pyramid levels of overlapping tiles down to the
smallest promised object; with ``thorough`` each again turned 90/180/270 degrees). Views are
slices of the decoded image rendered one canvas at a time, so memory stays bounded; their boxes
are mapped back and merged across passes by :func:`imaging.tiling.merge_tiled_boxes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from imaging.boxes import split_by_batch
from imaging.centerface import decode_centerface
from imaging.errors import InvalidOptionError
from imaging.passes import (
    Pass,
    PassSettings,
    Placement,
    View,
    describe_passes,
    placement,
    plan_passes,
    render_batch,
    views_of,
)
from imaging.tiling import merge_tiled_boxes


@dataclass(frozen=True)
class SessionSettings:
    """How many images go into one session run, ONNX Runtime's thread count (0: its default), and
    whether its idle pool threads spin (its default) or sleep.

    Spinning threads keep burning the cores after a run; where other models share the cores
    (detect and faces side by side, decode/blur/encode beside them) that time is taken from them.
    The defaults are the committed configs' (`session_batch` 1, `allow_spinning` 0).
    """

    batch: int = 1
    intra_op_threads: int = 0
    allow_spinning: bool = False
    # GPU hosts (README "GPU hosts"): `torch` runs model.onnx with torch on `device`
    # (python_models.torch_session); `triton` calls `network_model` (TensorRT) through BLS.
    runtime: str = "onnxruntime"
    device: str = "cpu"
    network_model: str = ""
    precision: str = "fp32"  # torch: fp16 runs the graph under autocast


SESSION_RUNTIMES = ("onnxruntime", "torch", "triton")


def open_session(model_path: Path, settings: SessionSettings) -> Any:
    """The session that runs ``model_path``'s graph: ONNX Runtime on the CPU (the served default),
    a TorchSession on ``settings.device``, or a NetworkSession calling ``settings.network_model``;
    each offers get_inputs() and run(output_names, feeds). ValueError for an unknown runtime."""
    if settings.runtime not in SESSION_RUNTIMES:
        raise ValueError(f"runtime must be one of {list(SESSION_RUNTIMES)}, got {settings.runtime!r}")
    if settings.runtime == "torch":
        from python_models.torch_session import TorchSession  # torch: GPU hosts only

        return TorchSession(model_path, settings.device, settings.precision)
    if settings.runtime == "triton":
        from python_models.network_session import NetworkSession  # BLS: inside the Python-backend stub only

        return NetworkSession(settings.network_model, model_path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.intra_op_threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if settings.allow_spinning else "0")
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


DEFAULT_PASS_SETTINGS = PassSettings()

# config.pbtxt parameter -> PassSettings field
PASS_PARAMETERS = {
    "min_size": "min_size",
    "detectable_size": "detectable",
    "largest_size": "largest",
    "tile_size": "tile_size",
    "tile_overlap": "tile_overlap",
    "frame_size": "frame_size",
    "frame_pad": "frame_pad",
    "max_scale": "max_scale",
    "pyramid_step": "step",
}


class TileSettings(PassSettings):
    """The pass plan of a detector model, read from its config.pbtxt (see :mod:`imaging.passes`).

    Parameters (fallbacks: :class:`imaging.passes.PassSettings`'s; ``min_size`` 0 means the whole
    pass only): `min_size` (original px), `detectable_size`, `largest_size`, `tile_size`,
    `tile_overlap`, `frame_size` (model px), `frame_pad`, `max_scale`, `pyramid_step`. The
    whole-pass size is the detector's input size.
    """

    @classmethod
    def from_parameters(cls, parameter: Callable[[str, str], str]) -> TileSettings:
        """From config.pbtxt (``parameter(key, default)``); InvalidOptionError names a bad value."""
        defaults = asdict(DEFAULT_PASS_SETTINGS)
        values: dict[str, Any] = {}
        for key, name in PASS_PARAMETERS.items():
            raw = parameter(key, str(defaults[name]))
            try:
                values[name] = type(defaults[name])(float(raw))
            except ValueError:
                raise InvalidOptionError(f"config parameter {key} must be a number, got {raw!r}") from None
        return cls(**values)


def load_class_names(labels_path: Path) -> dict[int, str]:
    """labels.json written by export/: {"0": "person", ...}."""
    return {int(key): str(name) for key, name in json.loads(labels_path.read_text()).items()}


class PassDetector:
    """Shared by both detectors: plan views per image, run them in batches, map back and merge.

    Subclasses set ``session``, ``settings`` (SessionSettings), ``passes`` (PassSettings),
    ``canvas`` (a fixed (height, width) model input, or None for any multiple of 32),
    ``unit_scale``, ``iou`` and ``class_column``, and implement ``_run_batch``.
    """

    session: Any  # ort.InferenceSession, TorchSession or NetworkSession (open_session)
    settings: SessionSettings
    passes: PassSettings
    canvas: tuple[int, int] | None
    unit_scale: bool
    iou: float
    thresholds: YoloThresholds | FaceThresholds
    class_column: int | None

    def plan(self, width: int, height: int, thorough: bool = False, image: int = 0) -> list[Pass]:
        """The passes a ``width`` x ``height`` image gets (its views tagged with index ``image``)."""
        return plan_passes(width, height, self.passes, thorough=thorough, image=image)

    def passes_for(self, width: int, height: int, thorough: bool = False) -> list[dict[str, object]]:
        """JSON-able descriptions of the passes a ``width`` x ``height`` image gets, in run order:
        [{"kind": "frame"|"whole"|"scaled"|"tiles", "scale": model px per original px,
        "count": views per rotation, "rotations": [0] or [0, 90, 180, 270]}, ...]."""
        return describe_passes(self.plan(width, height, thorough))

    def detect(
        self, images: Sequence[np.ndarray], *, score_threshold: float | None = None, thorough: bool = False
    ) -> list[np.ndarray]:
        """Per HxWx3 uint8 RGB image, [k, 5+] float32 rows (x1, y1, x2, y2, score, ...) in its pixels.

        ``score_threshold`` (0..1) replaces the configured one for this call; ``thorough`` adds the
        passes turned 90, 180 and 270 degrees (4x the cost). InvalidOptionError on a bad threshold.
        """
        views = [view for index, image in enumerate(images) for view in self._views(index, image, thorough)]
        return [self._merge(parts) for parts in self.detect_views(images, views, score_threshold=score_threshold)]

    def detect_views(
        self, images: Sequence[np.ndarray], views: Sequence[View], *, score_threshold: float | None = None
    ) -> list[list[np.ndarray]]:
        """Run ``views`` (of ``images``, by index) in batches of one canvas size: per image, the
        rows each of its views found, in original pixels, unmerged."""
        threshold = self._threshold(score_threshold)
        found: list[list[np.ndarray]] = [[] for _ in images]
        for group in self._by_canvas(views):
            for chunk in chunks(group, self.settings.batch):
                chunk_views = [view for view, _ in chunk]
                placements = [where for _, where in chunk]
                batch = render_batch(images, chunk_views, placements, unit_scale=self.unit_scale)
                for view, (_, offset), rows in zip(chunk_views, placements, self._run_batch(batch, threshold), strict=True):
                    found[view.image].append(view.to_original(rows, offset))
        return found

    def _views(self, index: int, image: np.ndarray, thorough: bool) -> list[View]:
        height, width = image.shape[:2]
        return list(views_of(self.plan(width, height, thorough, index)))

    def _by_canvas(self, views: Sequence[View]) -> list[list[tuple[View, Placement]]]:
        groups: dict[tuple[int, int], list[tuple[View, Placement]]] = {}
        for view in views:
            where = placement(view, self.canvas)
            groups.setdefault(where[0], []).append((view, where))
        return list(groups.values())

    def _merge(self, parts: list[np.ndarray]) -> np.ndarray:
        if len(parts) == 1:
            return parts[0]
        return merge_tiled_boxes(np.concatenate(parts), iou_threshold=self.iou, class_column=self.class_column)

    def _threshold(self, score_threshold: float | None) -> float:
        """The call's score threshold, else the configured one (``self.thresholds.score``)."""
        return self.thresholds.score if score_threshold is None else _checked_threshold(score_threshold)

    def _run_batch(self, batch: np.ndarray, threshold: float) -> list[np.ndarray]:
        raise NotImplementedError


def _checked_threshold(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise InvalidOptionError(f"score_threshold must be a number in [0, 1), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class YoloThresholds:
    score: float = 0.25
    iou: float = 0.45
    max_detections: int = 100


class YoloDetector(PassDetector):
    """A YOLO ONNX graph exported with NMS inside: images -> [k, 6] rows (x1, y1, x2, y2, score, class_id).

    Its input is a fixed canvas (640x640): the whole pass and every tile fit it, centred.
    """

    unit_scale = True
    class_column = 5

    def __init__(
        self, model_path: Path, thresholds: YoloThresholds, settings: SessionSettings, tiles: PassSettings = DEFAULT_PASS_SETTINGS
    ) -> None:
        self.session = open_session(model_path, settings)
        self.settings = settings
        height, width = self.session.get_inputs()[0].shape[2:]
        self.input_size = (int(height), int(width))
        self.canvas = self.input_size
        side = min(self.input_size)
        self.passes = _with_whole(tiles, side, tile_size=min(tiles.tile_size, side))
        self.thresholds: YoloThresholds = thresholds
        self.iou = thresholds.iou

    def _run_batch(self, batch: np.ndarray, threshold: float) -> list[np.ndarray]:
        knobs = {
            "score_threshold": np.array([threshold], dtype=np.float32),
            "iou_threshold": np.array([self.thresholds.iou], dtype=np.float32),
            "max_detections": np.array([self.thresholds.max_detections], dtype=np.int64),
        }
        (rows,) = self.session.run(["detections"], {"images": batch, **knobs})
        return split_by_batch(rows, len(batch))


@dataclass(frozen=True)
class FaceThresholds:
    score: float = 0.5
    iou: float = 0.3


class CenterFaceDetector(PassDetector):
    """CenterFace on RGB 0..255 input whose sides are multiples of 32: images -> [k, 5] (x1, y1, x2, y2, score).

    Any canvas size works: each view gets the smallest multiple-of-32 canvas that holds it;
    ``input_size`` is the whole pass's longer side.
    """

    unit_scale = False
    class_column = None
    canvas = None

    def __init__(
        self,
        model_path: Path,
        input_size: int,
        thresholds: FaceThresholds,
        settings: SessionSettings,
        tiles: PassSettings = DEFAULT_PASS_SETTINGS,
    ) -> None:
        if input_size <= 0 or input_size % 32:
            raise ValueError(f"CenterFace input_size must be a positive multiple of 32, got {input_size}")
        self.session = open_session(model_path, settings)
        self.settings = settings
        self.input_size = (input_size, input_size)
        self.passes = _with_whole(tiles, input_size)
        self.thresholds = thresholds
        self.iou = thresholds.iou

    def _run_batch(self, batch: np.ndarray, threshold: float) -> list[np.ndarray]:
        heatmap, scale, offset = self.session.run(["heatmap", "scale", "offset"], {"images": batch})
        return decode_centerface(heatmap, scale, offset, threshold=threshold, iou_threshold=self.thresholds.iou)


def _with_whole(tiles: PassSettings, whole_size: int, **changes: Any) -> PassSettings:
    """``tiles`` as plain PassSettings with the detector's whole-pass size (and other ``changes``)."""
    values = {item.name: getattr(tiles, item.name) for item in fields(PassSettings)}
    return PassSettings(**{**values, "whole_size": whole_size, **changes})
