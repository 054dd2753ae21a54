"""A synthetic 8000x6000 scan with real face photos pasted at known places, some across tile borders.

The face boxes inside each source crop were measured once with the project's CenterFace on the
original photos (astronaut: 1 face, grace_hopper: 1, zidane: 2), and are scaled with the paste.
With the default detector tiling (1280 px tiles, 256 px overlap) the tile cores of an 8000x6000
image are cut every 1000 px, so pastes centred on multiples of 1000 straddle tile borders.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from tests.photos import photo_pixels

WIDTH, HEIGHT = 8000, 6000

# photo, crop (x1, y1, x2, y2), face box inside the photo, scale, centre of the face on the canvas
PASTES = [
    ("astronaut.png", (130, 20, 320, 230), (179.8, 61.8, 271.0, 178.0), 2.0, (3000, 1500)),  # across a column border
    ("grace_hopper.jpg", (120, 80, 400, 400), (171.3, 128.2, 351.9, 340.5), 1.0, (5500, 3000)),  # across a row border
    ("zidane.jpg", (880, 60, 1100, 320), (919.6, 99.9, 1054.8, 276.4), 1.5, (6000, 4000)),  # on a tile corner
    ("zidane.jpg", (520, 200, 700, 480), (553.7, 241.9, 669.6, 438.5), 1.5, (1500, 4500)),  # inside one tile
    ("astronaut.png", (130, 20, 320, 230), (179.8, 61.8, 271.0, 178.0), 1.0, (7400, 600)),  # small, near an edge
]


@cache
def huge_canvas() -> tuple[np.ndarray, np.ndarray]:
    """(8000x6000x3 uint8 RGB canvas, [5, 4] float32 expected face boxes). Read-only: copy to edit."""
    background = cv2.resize(photo_pixels("coffee.png"), (WIDTH // 8, HEIGHT // 8), interpolation=cv2.INTER_AREA)
    canvas = cv2.resize(cv2.GaussianBlur(background, (0, 0), 3), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    boxes = []
    for name, (cx1, cy1, cx2, cy2), face, scale, (fx, fy) in PASTES:
        crop = photo_pixels(name)[cy1:cy2, cx1:cx2]
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        face_box = (np.array(face) - [cx1, cy1, cx1, cy1]) * scale
        left = int(fx - (face_box[0] + face_box[2]) / 2)
        top = int(fy - (face_box[1] + face_box[3]) / 2)
        canvas[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
        boxes.append(face_box + [left, top, left, top])
    canvas.flags.writeable = False
    return canvas, np.array(boxes, dtype=np.float32)


def iou(first: np.ndarray, second: np.ndarray) -> float:
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return float(inter / (area(first) + area(second) - inter))
