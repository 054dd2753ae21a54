"""Real photos that ship inside installed packages, as encoded bytes (nothing is downloaded)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image


def _png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def photo_bytes(name: str) -> bytes:
    """Encoded bytes of a named real photo.

    zidane.jpg, bus.jpg (ultralytics assets), astronaut.png (scikit-image),
    grace_hopper.jpg (matplotlib), nemo.jp2 (glymur), goodstuff.j2k (glymur), coffee.png.
    """
    if name in {"zidane.jpg", "bus.jpg"}:
        import ultralytics

        return (Path(ultralytics.__file__).parent / "assets" / name).read_bytes()
    if name == "grace_hopper.jpg":
        from matplotlib import cbook

        return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes()
    if name in {"nemo.jp2", "goodstuff.j2k"}:
        import glymur.data

        return Path(getattr(glymur.data, name.split(".")[0])()).read_bytes()
    if name in {"astronaut.png", "coffee.png"}:
        import skimage.data

        return _png_bytes(getattr(skimage.data, name.split(".")[0])())
    raise KeyError(f"no photo named {name!r}")


def photo_pixels(name: str) -> np.ndarray:
    """The photo decoded by Pillow as uint8 RGB, a reference independent of the project's codec."""
    with Image.open(io.BytesIO(photo_bytes(name))) as image:
        return np.asarray(image.convert("RGB"))
