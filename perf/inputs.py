"""Benchmark inputs: real photos cropped and resized to standard sizes, encoded as JPEG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from perf.errors import ConfigError

# (width, height) of each named size
SIZES: dict[str, tuple[int, int]] = {
    "vga": (640, 480),
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "4k": (3840, 2160),
}
# Real photos with people and faces (bus, zidane, grace_hopper, astronaut) and one large
# photograph (nemo.jp2, 2592x1456) so the big sizes are not all upscaled small pictures.
PHOTOS = ("zidane.jpg", "bus.jpg", "grace_hopper.jpg", "nemo.jp2")
JPEG_QUALITY = 90


@dataclass(frozen=True)
class SizedPhotos:
    """The benchmark photos at one size: encoded JPEG bytes, in a fixed order."""

    size: str
    width: int
    height: int
    payloads: tuple[bytes, ...]

    @property
    def mean_bytes(self) -> int:
        return int(sum(len(payload) for payload in self.payloads) / len(self.payloads))


def parse_sizes(raw: str) -> tuple[str, ...]:
    """'vga,1080p' -> ('vga', '1080p'); unknown names are an error."""
    names = tuple(name.strip().lower() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in SIZES]
    if unknown or not names:
        raise ConfigError(f"sizes must be among {', '.join(SIZES)}, got {raw!r}")
    return names


def cover_resize(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Crop the centre to the target aspect ratio, then resize to exactly width x height."""
    source_height, source_width = pixels.shape[:2]
    scale = max(width / source_width, height / source_height)
    crop_width, crop_height = round(width / scale), round(height / scale)
    left, top = (source_width - crop_width) // 2, (source_height - crop_height) // 2
    image = Image.fromarray(pixels[top : top + crop_height, left : left + crop_width])
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS))


def encode_jpeg(pixels: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def sized_photos(size: str, photos: Sequence[str] = PHOTOS) -> SizedPhotos:
    """Every photo in ``photos`` at the named size, as JPEG."""
    from tests.photos import photo_pixels  # the project's real-photo helper (packages ship them)

    width, height = SIZES[size]
    payloads = tuple(encode_jpeg(cover_resize(photo_pixels(name), width, height)) for name in photos)
    return SizedPhotos(size=size, width=width, height=height, payloads=payloads)
