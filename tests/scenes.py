"""Generated scenes of real faces with ground-truth boxes: crowds, tight crops, rotations.

Faces come from real photos that ship inside installed packages (``tests.photos``). The face box
inside each photo was measured once with the project's CenterFace at the photo's full resolution
(the same numbers as ``tests.huge_canvas``), except zidane's bald second face, set by eye from
the brow to the chin (CenterFace's full-resolution box starts in the scalp, ~20 px higher, and
ends above the open mouth's chin; at other scales it starts mid-forehead); a scene crops around a face,
scales the crop and pastes it, moving the box with it. Nothing is downloaded, everything is
deterministic, and every scene is cached read-only (copy before editing).

- :func:`crowd`: ``rows`` x ``cols`` faces of about ``face_height`` px on a grid (the issue's
  144 faces of ~225 px on 4000x3000 is ``crowd(4000, 3000, 12, 12, 225)``).
- :func:`lone_face`: one face of a given height centred on a background of a given size.
- :func:`tight_crop`: a face cropped eyes-to-mouth, scaled to fill a ``size`` px frame; its
  ground truth is the whole frame.
- :func:`portrait`: one photo scaled so its longer side is ``size`` px.
- :func:`rotated`: any scene turned by 90, 180 or 270 degrees, boxes turned with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from imaging.passes import rotate_boxes
from tests.photos import photo_pixels


@dataclass(frozen=True)
class Face:
    """A face in a real photo: the photo's name and the face box (x1, y1, x2, y2) in its pixels."""

    photo: str
    box: tuple[float, float, float, float]


FACES = (
    Face("astronaut.png", (179.8, 61.8, 271.0, 178.0)),
    Face("grace_hopper.jpg", (171.3, 128.2, 351.9, 340.5)),
    Face("zidane.jpg", (919.6, 99.9, 1054.8, 276.4)),
    Face("zidane.jpg", (553.7, 262.0, 669.6, 446.0)),  # by eye: brow to chin (CenterFace's reaches into the bald scalp)
    Face("bus.jpg", (113.2, 418.0, 154.5, 472.5)),
    Face("bus.jpg", (270.3, 424.7, 308.0, 474.8)),
)

# The astronaut from just above the eyes to just below the mouth: no forehead, chin or outline.
EYES_TO_MOUTH = ("astronaut.png", (188, 90, 264, 160))

# How far a crowd crop reaches around its face, as a fraction of the face's width and height.
CONTEXT = 0.35


@dataclass(frozen=True, eq=False)
class Scene:
    """An RGB uint8 image [H, W, 3] and its faces as [N, 4] float32 (x1, y1, x2, y2) pixels."""

    name: str
    pixels: np.ndarray
    boxes: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.pixels.shape[1], self.pixels.shape[0]


def _frozen(name: str, pixels: np.ndarray, boxes: list | np.ndarray) -> Scene:
    pixels = np.ascontiguousarray(pixels)
    pixels.flags.writeable = False
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    boxes.flags.writeable = False
    return Scene(name, pixels, boxes)


def background(width: int, height: int) -> np.ndarray:
    """A soft real-photo background (scikit-image's coffee, blurred and stretched), [H, W, 3] uint8."""
    small = cv2.resize(photo_pixels("coffee.png"), (max(8, width // 8), max(8, height // 8)), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), 3), (width, height), interpolation=cv2.INTER_LINEAR)


def face_crop(face: Face, context: float = CONTEXT) -> tuple[np.ndarray, np.ndarray]:
    """(the photo cropped around ``face`` with ``context`` margins, the face box inside the crop)."""
    photo = photo_pixels(face.photo)
    x1, y1, x2, y2 = face.box
    grow_x, grow_y = (x2 - x1) * context, (y2 - y1) * context
    left, top = max(0, int(x1 - grow_x)), max(0, int(y1 - grow_y))
    right, bottom = min(photo.shape[1], int(np.ceil(x2 + grow_x))), min(photo.shape[0], int(np.ceil(y2 + grow_y)))
    return photo[top:bottom, left:right], np.array([x1 - left, y1 - top, x2 - left, y2 - top], dtype=np.float32)


def _paste(canvas: np.ndarray, face: Face, face_height: float, centre: tuple[float, float], cell: tuple[int, int, int, int]) -> np.ndarray:
    """Paste ``face`` scaled to ``face_height`` with its centre at ``centre``, clipped to ``cell``; its box."""
    crop, box = face_crop(face)
    scale = face_height / (box[3] - box[1])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=interpolation)
    box = box * scale
    left = int(round(centre[0] - (box[0] + box[2]) / 2))
    top = int(round(centre[1] - (box[1] + box[3]) / 2))
    cx1, cy1, cx2, cy2 = cell
    x1, y1 = max(left, cx1), max(top, cy1)
    x2, y2 = min(left + crop.shape[1], cx2), min(top + crop.shape[0], cy2)
    canvas[y1:y2, x1:x2] = crop[y1 - top : y2 - top, x1 - left : x2 - left]
    placed = box + [left, top, left, top]
    return np.clip(placed, [cx1, cy1, cx1, cy1], [cx2, cy2, cx2, cy2])


@cache
def crowd(width: int, height: int, rows: int, cols: int, face_height: int) -> Scene:
    """``rows`` x ``cols`` real faces about ``face_height`` px tall (+-10 %), one per grid cell.

    The faces cycle through :data:`FACES`; each sits at its cell's centre, its crop clipped to
    the cell (a face taller than its cell is clipped too, and so is its box).
    """
    canvas = background(width, height)
    boxes = []
    for index in range(rows * cols):
        row, col = divmod(index, cols)
        cell = (col * width // cols, row * height // rows, (col + 1) * width // cols, (row + 1) * height // rows)
        centre = ((cell[0] + cell[2]) / 2, (cell[1] + cell[3]) / 2)
        size = face_height * (0.9 + 0.2 * ((index * 7) % 11) / 10)
        boxes.append(_paste(canvas, FACES[index % len(FACES)], size, centre, cell))
    return _frozen(f"crowd-{width}x{height}-{rows * cols}x{face_height}px", canvas, boxes)


@cache
def lone_face(width: int, height: int, face_height: int, face: int = 0) -> Scene:
    """One face of :data:`FACES` (by index) ``face_height`` px tall, centred on a ``width`` x ``height`` background."""
    canvas = background(width, height)
    box = _paste(canvas, FACES[face], face_height, (width / 2, height / 2), (0, 0, width, height))
    return _frozen(f"lone-{FACES[face].photo.split('.')[0]}{face}-{face_height}px-on-{width}x{height}", canvas, [box])


@cache
def tight_crop(size: int) -> Scene:
    """The astronaut cropped eyes-to-mouth and scaled to ``size`` px wide: the face fills the frame.

    Ground truth is one box, the whole frame (everything in it is face).
    """
    photo, (x1, y1, x2, y2) = EYES_TO_MOUTH
    crop = photo_pixels(photo)[y1:y2, x1:x2]
    scale = size / crop.shape[1]
    pixels = cv2.resize(crop, (size, round(crop.shape[0] * scale)), interpolation=cv2.INTER_CUBIC)
    return _frozen(f"eyes-to-mouth-{size}px", pixels, [[0, 0, pixels.shape[1], pixels.shape[0]]])


@cache
def portrait(photo: str, size: int) -> Scene:
    """One of the photos of :data:`FACES`, scaled so that its longer side is ``size`` px, with all its faces."""
    pixels = photo_pixels(photo)
    scale = size / max(pixels.shape[:2])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    pixels = cv2.resize(pixels, (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)), interpolation=interpolation)
    boxes = [np.array(face.box) * scale for face in FACES if face.photo == photo]
    return _frozen(f"{photo.split('.')[0]}-{size}px", pixels, boxes)


@cache
def _rotated(scene: Scene, degrees: int) -> Scene:
    turns = degrees // 90
    width, height = scene.size
    pixels = np.rot90(scene.pixels, turns)
    return _frozen(f"{scene.name}-rot{degrees}", pixels, rotate_boxes(scene.boxes, width, height, turns))


def rotated(scene: Scene, degrees: int) -> Scene:
    """``scene`` turned ``degrees`` (90, 180, 270) counter-clockwise, its boxes with it."""
    if degrees not in (90, 180, 270):
        raise ValueError(f"degrees must be 90, 180 or 270, got {degrees!r}")
    return _rotated(scene, degrees)


def covered(truth: np.ndarray, found: np.ndarray, *, iou_threshold: float = 0.3, containment: float = 0.6) -> bool:
    """Whether a found box [k, 4+] matches ``truth`` (4): IoU >= ``iou_threshold``, or at least
    ``containment`` of the ground-truth face inside one found box (a blur that covers it)."""
    found = np.asarray(found, dtype=np.float32)
    for box in found.reshape(-1, found.shape[-1])[:, :4] if found.size else ():
        width = min(truth[2], box[2]) - max(truth[0], box[0])
        height = min(truth[3], box[3]) - max(truth[1], box[1])
        if width <= 0 or height <= 0:
            continue
        inter = width * height
        truth_area = (truth[2] - truth[0]) * (truth[3] - truth[1])
        box_area = (box[2] - box[0]) * (box[3] - box[1])
        if inter / truth_area >= containment or inter / (truth_area + box_area - inter) >= iou_threshold:
            return True
    return False


def missed(scene: Scene, found: np.ndarray, **match: float) -> list[list[float]]:
    """The ground-truth boxes of ``scene`` that no box of ``found`` covers (see :func:`covered`)."""
    return [box.round().tolist() for box in scene.boxes if not covered(box, found, **match)]
