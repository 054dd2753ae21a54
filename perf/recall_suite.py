"""The recall suite: real faces with ground-truth boxes, generated (nothing downloaded).

Three groups, every image RGB uint8 with its face boxes [N, 4] (x1, y1, x2, y2 pixels):

- ``scenes``: from ``tests.scenes``: faces filling the frame (eyes-to-mouth crops), rotated
  portraits, a 1080p crowd of small faces;
- ``photos-1080p``: 1920x1080 photos composed from the offline photos: the four photos with known
  faces (astronaut, grace_hopper, zidane, bus) fitted onto a face-free real photograph (nemo,
  coffee), then faces cut from them (with some context) pasted at 28-400 px tall;
- ``crowd-4000x3000``: the issue's crowd, 144 real faces about 225 px tall on a 12x12 grid;
- ``plates``: licence plates drawn and pasted onto real photos (``tests.plate_scenes``); here the
  ground truth is the plates only (deface has no plate detector: its figure shows that).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # tests.scenes is imported where used: perf runs from the repository root
    from tests.scenes import Face

SCENES, PHOTOS, CROWD, PLATES = "scenes", "photos-1080p", "crowd-4000x3000", "plates"
GROUPS = (SCENES, PHOTOS, CROWD, PLATES)
PHOTO_SIZE = (1920, 1080)
BACKGROUNDS = ("nemo.jp2", "coffee.png")  # real photographs without faces
MIN_FACE, MAX_FACE = 28, 400  # pasted face heights, px


@dataclass(frozen=True)
class SuiteImage:
    """One benchmark image: its group, a file-safe name, RGB uint8 [H, W, 3] and face boxes [N, 4] float32."""

    group: str
    name: str
    pixels: np.ndarray
    boxes: np.ndarray

    @property
    def size(self) -> str:
        return f"{self.pixels.shape[1]}x{self.pixels.shape[0]}"


def scene_images() -> Iterator[SuiteImage]:
    """Faces filling the frame, rotated portraits, a crowd of small faces (``tests.scenes``)."""
    from tests import scenes

    chosen = [
        scenes.tight_crop(512), scenes.tight_crop(1536),
        scenes.rotated(scenes.portrait("astronaut.png", 1024), 180),
        scenes.rotated(scenes.portrait("grace_hopper.jpg", 1024), 90),
        scenes.portrait("zidane.jpg", 1280),
        scenes.crowd(1920, 1080, 4, 8, 60),
    ]
    for scene in chosen:
        yield SuiteImage(SCENES, scene.name, np.asarray(scene.pixels), np.asarray(scene.boxes, dtype=np.float32))


def crowd_image() -> SuiteImage:
    from tests import scenes

    scene = scenes.crowd(4000, 3000, 12, 12, 225)
    return SuiteImage(CROWD, scene.name, np.asarray(scene.pixels), np.asarray(scene.boxes, dtype=np.float32))


def plate_images() -> Iterator[SuiteImage]:
    """bus.jpg with three plates (200, 160, 120 px wide), zidane.jpg with one (180 px); boxes are the plates."""
    from tests import plate_scenes

    for name, scene in (("bus-3-plates", plate_scenes.bus_with_plates()), ("zidane-1-plate", plate_scenes.zidane_with_plate())):
        yield SuiteImage(PLATES, name, np.asarray(scene.pixels), np.array(scene.boxes, dtype=np.float32).reshape(-1, 4))


def photo_images(count: int) -> Iterator[SuiteImage]:
    """``count`` 1920x1080 composed photos (deterministic: photo ``i`` depends on ``i`` only)."""
    for index in range(count):
        yield _composed_photo(index)


def _background(index: int) -> np.ndarray:
    from perf.inputs import cover_resize
    from tests.photos import photo_pixels

    return cover_resize(photo_pixels(BACKGROUNDS[index % len(BACKGROUNDS)]), *PHOTO_SIZE).copy()


def _composed_photo(index: int) -> SuiteImage:
    from tests.scenes import FACES

    rng = np.random.default_rng(index)
    canvas, boxes = _background(index), []
    taken: list[tuple[int, int, int, int]] = []
    photos = sorted({face.photo for face in FACES})
    if index < len(photos):  # a whole photo with all its known faces, at 60-100 % of the frame's height
        photo = photos[index]
        boxes += _place_photo(canvas, photo, [f.box for f in FACES if f.photo == photo], 0.6 + 0.4 * rng.random(), taken, rng)
    for _ in range(2 + index % 5):
        face = FACES[int(rng.integers(len(FACES)))]
        height = MIN_FACE * (MAX_FACE / MIN_FACE) ** rng.random()  # log-uniform: as many small faces as large
        boxes += _place_face(canvas, face, height, taken, rng)
    return SuiteImage(PHOTOS, f"photo-{index:02d}", canvas, np.array(boxes, dtype=np.float32).reshape(-1, 4))


def _place_photo(canvas: np.ndarray, photo: str, faces: list, fraction: float, taken: list, rng: np.random.Generator) -> list:
    from tests.photos import photo_pixels

    pixels = photo_pixels(photo)
    scale = min(fraction * canvas.shape[0] / pixels.shape[0], fraction * canvas.shape[1] / pixels.shape[1])
    return _paste(canvas, pixels, np.array(faces, dtype=np.float64), scale, taken, rng)


def _place_face(canvas: np.ndarray, face: Face, height: float, taken: list, rng: np.random.Generator) -> list:
    from tests.scenes import face_crop

    crop, box = face_crop(face)
    return _paste(canvas, crop, np.asarray(box, dtype=np.float64)[None], height / (box[3] - box[1]), taken, rng)


def _paste(canvas: np.ndarray, pixels: np.ndarray, boxes: np.ndarray, scale: float, taken: list, rng: np.random.Generator,
           tries: int = 200) -> list:
    """Paste ``pixels`` scaled by ``scale`` where it overlaps no earlier paste; its boxes moved with it
    (nothing when no free place is found in ``tries``)."""
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    scaled = cv2.resize(pixels, (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale))),
                        interpolation=interpolation)
    height, width = scaled.shape[:2]
    for _ in range(tries):
        left, top = int(rng.integers(0, canvas.shape[1] - width + 1)), int(rng.integers(0, canvas.shape[0] - height + 1))
        place = (left, top, left + width, top + height)
        if not any(_overlap(place, other) for other in taken):
            canvas[top : top + height, left : left + width] = scaled
            taken.append(place)
            return [list(box * scale + [left, top, left, top]) for box in boxes]
    return []


def _overlap(first: tuple[int, int, int, int], second: tuple[int, int, int, int]) -> bool:
    return first[0] < second[2] and second[0] < first[2] and first[1] < second[3] and second[1] < first[3]


def suite(groups: tuple[str, ...] = GROUPS, photos: int = 20) -> list[SuiteImage]:
    """The chosen groups in a fixed order."""
    images: list[SuiteImage] = []
    if SCENES in groups:
        images += scene_images()
    if PHOTOS in groups:
        images += photo_images(photos)
    if CROWD in groups:
        images.append(crowd_image())
    if PLATES in groups:
        images += plate_images()
    return images
