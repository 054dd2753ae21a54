"""Letterboxing for detectors: resize keeping aspect, pad to a fixed canvas, and map boxes back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from imaging.arrays import require_boxes, require_rgb
from imaging.errors import InvalidOptionError


@dataclass(frozen=True)
class LetterboxTransform:
    """Where the original image sits on the canvas: canvas = original * scale + pad."""

    scale: float
    pad_x: float
    pad_y: float
    width: int  # original size
    height: int


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    height, width = size
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        raise InvalidOptionError(f"size must be (height, width) positive integers, got {size!r}")
    return height, width


def letterbox_transform(image_size: tuple[int, int], size: tuple[int, int]) -> LetterboxTransform:
    """The transform that fits an image of ``image_size`` (height, width) centred in ``size``."""
    height, width = image_size
    canvas_height, canvas_width = _check_size(size)
    scale = min(canvas_height / height, canvas_width / width)
    new_width, new_height = _resized_size(width, height, scale)
    return LetterboxTransform(
        scale=scale,
        pad_x=float((canvas_width - new_width) // 2),
        pad_y=float((canvas_height - new_height) // 2),
        width=width,
        height=height,
    )


def _resized_size(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def _paint(pixels: np.ndarray, transform: LetterboxTransform, canvas: np.ndarray) -> None:
    """Write the resized image onto ``canvas`` (HxWx3, already filled) at the transform's offset."""
    new_width, new_height = _resized_size(transform.width, transform.height, transform.scale)
    if (new_width, new_height) != (transform.width, transform.height):
        pixels = cv2.resize(pixels, (new_width, new_height), interpolation=cv2.INTER_LINEAR)
    top, left = int(transform.pad_y), int(transform.pad_x)
    canvas[top : top + new_height, left : left + new_width] = pixels


def letterbox(
    pixels: np.ndarray, size: tuple[int, int], fill: int = 114
) -> tuple[np.ndarray, LetterboxTransform]:
    """An HxWx3 uint8 canvas of ``size`` (height, width) with ``pixels`` resized and centred."""
    require_rgb(pixels)
    if not 0 <= fill <= 255:
        raise InvalidOptionError(f"fill must be 0-255, got {fill!r}")
    transform = letterbox_transform((pixels.shape[0], pixels.shape[1]), size)
    canvas = np.full((*size, 3), fill, dtype=np.uint8)
    _paint(pixels, transform, canvas)
    return canvas, transform


def letterbox_batch(
    images: Sequence[np.ndarray],
    size: tuple[int, int],
    *,
    unit_scale: bool = True,
    fill: int = 114,
) -> tuple[np.ndarray, list[LetterboxTransform]]:
    """Letterbox every image into one contiguous float32 NCHW RGB batch (/255 if unit_scale)."""
    height, width = _check_size(size)
    batch = np.empty((len(images), 3, height, width), dtype=np.float32)
    factor = np.float32(1 / 255 if unit_scale else 1)
    transforms: list[LetterboxTransform] = []
    for index, pixels in enumerate(images):
        canvas, transform = letterbox(pixels, size, fill)
        np.multiply(canvas.transpose(2, 0, 1), factor, out=batch[index], casting="unsafe")
        transforms.append(transform)
    return batch, transforms


def boxes_to_original(boxes: np.ndarray, transform: LetterboxTransform) -> np.ndarray:
    """Map [N,4+] x1,y1,x2,y2 from canvas to original pixel coordinates, clipped to the image.

    Columns after the fourth (score, class) are copied unchanged; the result is float32.
    """
    require_boxes(boxes)
    mapped = boxes.astype(np.float32, copy=True)
    x = (mapped[:, [0, 2]] - transform.pad_x) / transform.scale
    y = (mapped[:, [1, 3]] - transform.pad_y) / transform.scale
    mapped[:, [0, 2]] = np.clip(x, 0, transform.width)
    mapped[:, [1, 3]] = np.clip(y, 0, transform.height)
    return mapped
