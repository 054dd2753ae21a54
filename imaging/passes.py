"""Detection passes chosen from the image size, so that objects are found at every size.

A detector finds objects reliably only within a band of sizes in its own input pixels
(CenterFace: faces from about 32 px tall at score 0.3, 48 px at 0.5, up to about 240 px; larger
ones are missed, and a face that fills the frame is never seen without some margin around it).
One 640 px view of a 4000x3000 photo shrinks a 48 px face to 8 px. So the image is looked at several
times, each view scaled to put a band of sizes inside the detector's band:

- ``frame``: the whole image shrunk to ``frame_size`` px (longer side), with ``frame_pad`` of that
  as a margin on every side: the context that lets CenterFace see a face cropped eyes-to-mouth.
- ``whole``: the whole image fitted into ``whole_size`` px (the classic 640 px letterbox; a
  smaller image is enlarged to it, as before).
- pyramid levels, finest first: scale ``detectable / min_size`` (the smallest promised object
  becomes the smallest detectable one; never above ``max_scale``), then each ``step`` times
  smaller while still finer than the ``whole`` pass (a level within ``1.5x`` of it is left to
  it). A level that fits one ``tile_size`` canvas is one ``scaled`` view; a larger one is cut into
  overlapping ``tiles`` (views of the original, ``tile_overlap`` model px shared, at least the
  largest detectable object: anything a level can find lies whole in one of its tiles, and
  anything larger is the next level's).
- ``thorough``: every pass again turned 90, 180 and 270 degrees (sideways and upside-down faces).

Sizes: ``min_size`` in original pixels, the others in model-input pixels. A view is rendered
from the original (a slice, resized: memory stays at one canvas per view), and its boxes map back
to original pixels with :meth:`View.to_original`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from imaging.arrays import require_boxes
from imaging.errors import InvalidOptionError
from imaging.tiling import tiles_for_size

ROTATIONS = (90, 180, 270)
NEXT_LEVEL_MARGIN = 1.0  # a level is added whenever the whole pass is coarser than the promise needs


@dataclass(frozen=True)
class PassSettings:
    """The pass plan's knobs (see the module docstring). ``min_size`` 0: no pyramid levels."""

    min_size: float = 0.0
    detectable: float = 40.0
    largest: float = 240.0
    whole_size: int = 640
    tile_size: int = 1280
    tile_overlap: int = 256
    frame_size: int = 0
    frame_pad: float = 0.5
    max_scale: float = 1.0
    step: float = 4.0

    def __post_init__(self) -> None:
        if self.min_size < 0 or self.frame_size < 0 or self.frame_pad < 0:
            raise InvalidOptionError("min_size, frame_size and frame_pad must be >= 0")
        if not 0 < self.detectable < self.largest:
            raise InvalidOptionError(f"need 0 < detectable ({self.detectable}) < largest ({self.largest})")
        if self.whole_size <= 0 or self.max_scale <= 0:
            raise InvalidOptionError("whole_size and max_scale must be > 0")
        if not 0 <= self.tile_overlap < self.tile_size:
            raise InvalidOptionError(f"tile_overlap ({self.tile_overlap}) must lie in [0, tile_size ({self.tile_size}))")
        if not 1 < self.step <= self.largest / self.detectable:
            raise InvalidOptionError(f"step must lie in (1, largest/detectable = {self.largest / self.detectable:g}]")


@dataclass(frozen=True)
class View:
    """One region of one image as the detector sees it.

    ``x, y, width, height``: the region in original pixels; ``size``: (width, height) it is
    resized to before turning; ``rotation``: degrees counter-clockwise (0, 90, 180, 270);
    ``pad``: margin in model pixels left on every side of the canvas.
    """

    image: int
    kind: str
    x: int
    y: int
    width: int
    height: int
    size: tuple[int, int]
    rotation: int = 0
    pad: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the rendered view, turned, without the pad."""
        width, height = self.size
        return (width, height) if self.rotation in (90, 270) else (height, width)

    def render(self, image: np.ndarray) -> np.ndarray:
        """The region of ``image`` (HxWx3 uint8, the original) resized to ``size`` and turned: HxWx3 uint8."""
        region = image[self.y : self.y + self.height, self.x : self.x + self.width]
        if self.size != (self.width, self.height):
            region = _resize(region, self.size)
        return np.rot90(region, self.rotation // 90) if self.rotation else region

    def to_original(self, rows: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
        """[k, 4+] rows found on a canvas holding this view at ``offset`` (x, y, model px) -> float32
        rows in original pixels, clipped to the region; columns after the fourth are copied."""
        require_boxes(rows)
        mapped = rows.astype(np.float32, copy=True)
        mapped[:, [0, 2]] -= offset[0]
        mapped[:, [1, 3]] -= offset[1]
        height, width = self.shape
        mapped[:, [0, 2]] = np.clip(mapped[:, [0, 2]], 0, width)
        mapped[:, [1, 3]] = np.clip(mapped[:, [1, 3]], 0, height)
        if self.rotation:
            mapped[:, :4] = rotate_boxes(mapped[:, :4], width, height, (360 - self.rotation) // 90)
        mapped[:, [0, 2]] = mapped[:, [0, 2]] * (self.width / self.size[0]) + self.x
        mapped[:, [1, 3]] = mapped[:, [1, 3]] * (self.height / self.size[1]) + self.y
        return mapped


def _resize(region: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Linear to enlarge or shrink a little; area-averaged to shrink by 2x or more, after keeping
    every ``step``-th pixel when shrinking 4x or more (still 2x2 or more pixels averaged per
    output pixel: 12 MP to 128 px in 0.3 ms instead of 25 ms)."""
    factor = min(region.shape[1] / size[0], region.shape[0] / size[1])
    if factor < 2:
        return cv2.resize(region, size, interpolation=cv2.INTER_LINEAR)
    step = int(factor // 2)
    if step >= 2:
        region = region[::step, ::step]
    return cv2.resize(region, size, interpolation=cv2.INTER_AREA)


def rotate_boxes(boxes: np.ndarray, width: int, height: int, quarter_turns: int) -> np.ndarray:
    """[k, 4] boxes of a width x height image after ``np.rot90(image, quarter_turns)`` (counter-clockwise)."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    for _ in range(quarter_turns % 4):
        x1, y1, x2, y2 = boxes.T
        boxes = np.stack([y1, width - x2, y2, width - x1], axis=1)
        width, height = height, width
    return boxes


@dataclass(frozen=True)
class Pass:
    """One kind of look at an image: its views (unturned) and the rotations each is seen at."""

    kind: str
    scale: float
    views: tuple[View, ...]
    rotations: tuple[int, ...] = (0,)

    def describe(self) -> dict[str, object]:
        """JSON-able: {"kind", "scale", "count" (views per rotation), "rotations" (degrees)}."""
        return {"kind": self.kind, "scale": round(self.scale, 4), "count": len(self.views), "rotations": list(self.rotations)}


def plan_passes(width: int, height: int, settings: PassSettings, *, thorough: bool = False, image: int = 0) -> list[Pass]:
    """The passes for a ``width`` x ``height`` image: frame (if configured), whole, then pyramid levels."""
    if width <= 0 or height <= 0:
        raise InvalidOptionError(f"image size must be positive, got {width}x{height}")
    rotations = (0, *ROTATIONS) if thorough else (0,)
    whole_scale = settings.whole_size / max(width, height)
    passes = []
    if settings.frame_size:
        scale = min(settings.frame_size / max(width, height), 1.0)
        pad = round(settings.frame_size * settings.frame_pad)
        passes.append(Pass("frame", scale, (_scaled_view(image, "frame", width, height, scale, pad),), rotations))
    passes.append(Pass("whole", whole_scale, (_scaled_view(image, "whole", width, height, whole_scale),), rotations))
    for scale in pyramid_scales(width, height, settings):
        passes.append(_level(image, width, height, scale, settings, rotations))
    return passes


def pyramid_scales(width: int, height: int, settings: PassSettings) -> list[float]:
    """Scales of the pyramid levels finer than the whole pass, finest first (empty if min_size is 0)."""
    if not settings.min_size:
        return []
    whole_scale = settings.whole_size / max(width, height)
    scale = min(settings.detectable / settings.min_size, settings.max_scale)
    scales = []
    while scale > whole_scale * NEXT_LEVEL_MARGIN:
        scales.append(scale)
        scale /= settings.step
    return scales


def _scaled_view(image: int, kind: str, width: int, height: int, scale: float, pad: int = 0) -> View:
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return View(image, kind, 0, 0, width, height, size, pad=pad)


def _level(image: int, width: int, height: int, scale: float, settings: PassSettings, rotations: tuple[int, ...]) -> Pass:
    if max(width, height) * scale <= settings.tile_size:
        return Pass("scaled", scale, (_scaled_view(image, "scaled", width, height, scale),), rotations)
    tile = settings.tile_size / scale
    overlap = math.ceil(settings.tile_overlap / scale)
    views = []
    for region in tiles_for_size(width, height, int(tile), overlap):
        size = (min(settings.tile_size, max(1, round(region.width * scale))), min(settings.tile_size, max(1, round(region.height * scale))))
        views.append(View(image, "tiles", region.x, region.y, region.width, region.height, size))
    return Pass("tiles", scale, tuple(views), rotations)


def describe_passes(passes: Sequence[Pass]) -> list[dict[str, object]]:
    """JSON-able descriptions of ``passes`` (see :meth:`Pass.describe`)."""
    return [item.describe() for item in passes]


def views_of(passes: Sequence[Pass]) -> Iterator[View]:
    """Every view of ``passes`` at every rotation of its pass."""
    for item in passes:
        for view in item.views:
            for rotation in item.rotations:
                yield View(view.image, view.kind, view.x, view.y, view.width, view.height, view.size, rotation, view.pad)


Placement = tuple[tuple[int, int], tuple[int, int]]  # ((canvas height, canvas width), (x, y) of the view on it)


def placement(view: View, canvas: tuple[int, int] | None = None, multiple: int = 32) -> Placement:
    """Where ``view`` goes: on a fixed ``canvas`` (height, width), centred; else on the smallest
    canvas with sides a multiple of ``multiple`` that holds it and its pad, at (pad, pad).

    Raises InvalidOptionError if the view does not fit the fixed canvas.
    """
    height, width = view.shape
    if canvas is None:
        round_up = lambda length: -(-length // multiple) * multiple  # noqa: E731
        return (round_up(height + 2 * view.pad), round_up(width + 2 * view.pad)), (view.pad, view.pad)
    if height > canvas[0] or width > canvas[1]:
        raise InvalidOptionError(f"a {width}x{height} view does not fit a {canvas[1]}x{canvas[0]} canvas")
    return canvas, ((canvas[1] - width) // 2, (canvas[0] - height) // 2)


def render_batch(
    images: Sequence[np.ndarray], views: Sequence[View], placements: Sequence[Placement], *, unit_scale: bool, fill: int = 114
) -> np.ndarray:
    """Views (all of one canvas size) rendered into one float32 NCHW RGB batch (/255 if unit_scale)."""
    (height, width), _ = placements[0]
    batch = np.empty((len(views), 3, height, width), dtype=np.float32)
    factor = np.float32(1 / 255 if unit_scale else 1)
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    for index, (view, ((canvas_height, canvas_width), (x, y))) in enumerate(zip(views, placements, strict=True)):
        if (canvas_height, canvas_width) != (height, width):
            raise InvalidOptionError("render_batch: every view of a batch needs the same canvas size")
        pixels = view.render(images[view.image])
        canvas.fill(fill)
        canvas[y : y + pixels.shape[0], x : x + pixels.shape[1]] = pixels
        np.multiply(canvas.transpose(2, 0, 1), factor, out=batch[index], casting="unsafe")
    return batch
