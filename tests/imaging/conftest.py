"""Shared fixtures: one decoder and encoder per session, and a Pillow encoding helper."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imaging.codec import ImageDecoder, ImageEncoder


@pytest.fixture(scope="session")
def decoder() -> ImageDecoder:
    return ImageDecoder(device="cpu")


@pytest.fixture(scope="session")
def encoder() -> ImageEncoder:
    return ImageEncoder(device="cpu")


def pillow_bytes(image: Image.Image | np.ndarray, fmt: str, **save_kwargs: object) -> bytes:
    """``image`` encoded by Pillow as ``fmt`` (a Pillow format name such as "PNG")."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_kwargs)
    return buffer.getvalue()
