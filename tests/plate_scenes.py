"""Licence plates drawn with Pillow and pasted onto real photos: inputs for the plate detector's tests.

Nothing is downloaded: the plate is a white European-style plate (520:110 mm, a blue band on the
left, black border and characters) rendered with Pillow's built-in scalable font, and the photos
come from tests/photos.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tests.photos import photo_pixels

PLATE_ASPECT = 520 / 110  # width / height of a European plate


@dataclass(frozen=True)
class PlateScene:
    """A photo with plates pasted in: uint8 RGB [H, W, 3] pixels and each plate's (x1, y1, x2, y2) box."""

    pixels: np.ndarray
    boxes: list[tuple[int, int, int, int]]

    def png(self) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(self.pixels).save(buffer, format="PNG")
        return buffer.getvalue()


def draw_plate(width: int, text: str = "AB 123 CD") -> np.ndarray:
    """A plate ``width`` px wide (height from the European aspect ratio) as uint8 RGB [h, w, 3]."""
    height = max(8, round(width / PLATE_ASPECT))
    plate = Image.new("RGB", (width, height), (245, 245, 240))
    draw = ImageDraw.Draw(plate)
    border = max(1, height // 14)
    band = round(width * 0.08)
    draw.rectangle((0, 0, band, height - 1), fill=(20, 60, 170))
    draw.rectangle((0, 0, width - 1, height - 1), outline=(10, 10, 10), width=border)
    font = ImageFont.load_default(size=max(6, round(height * 0.72)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = band + (width - band - (right - left)) / 2 - left
    y = (height - (bottom - top)) / 2 - top
    draw.text((x, y), text, fill=(10, 10, 10), font=font, stroke_width=max(1, height // 25), stroke_fill=(10, 10, 10))
    return np.asarray(plate)


def paste_plates(photo: str, placements: list[tuple[int, int, int]]) -> PlateScene:
    """``photo`` (a tests/photos.py name) with a plate of width w pasted at (x, y) for each (x, y, w)."""
    pixels = photo_pixels(photo).copy()
    boxes = []
    for index, (x, y, width) in enumerate(placements):
        plate = draw_plate(width, text=f"AB {123 + 111 * index} CD")
        height = plate.shape[0]
        if x + width > pixels.shape[1] or y + height > pixels.shape[0]:
            raise ValueError(f"a {width} px plate at ({x}, {y}) does not fit {photo}")
        pixels[y : y + height, x : x + width] = plate
        boxes.append((x, y, x + width, y + height))
    return PlateScene(pixels, boxes)


def bus_with_plates() -> PlateScene:
    """bus.jpg (810x1080) with three plates: 200 and 160 px wide low on the bus body, 120 px on the road."""
    return paste_plates("bus.jpg", [(60, 700, 200), (560, 760, 160), (330, 960, 120)])


def zidane_with_plate() -> PlateScene:
    """zidane.jpg (1280x720) with a 180 px plate on the left, away from both faces."""
    return paste_plates("zidane.jpg", [(40, 560, 180)])
