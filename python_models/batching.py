"""Images of different sizes travel between models as one zero-padded batch plus their sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def pad_images(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack HxWx3 uint8 images into [N, Hmax, Wmax, 3] and their sizes into [N, 2] (height, width)."""
    sizes = np.array([image.shape[:2] for image in images], dtype=np.int32).reshape(-1, 2)
    if len(images) == 1:
        return images[0][np.newaxis], sizes
    height, width = sizes.max(axis=0)
    batch = np.zeros((len(images), height, width, 3), dtype=np.uint8)
    for index, image in enumerate(images):
        batch[index, : image.shape[0], : image.shape[1]] = image
    return batch, sizes


def unpad_images(batch: np.ndarray, sizes: np.ndarray) -> list[np.ndarray]:
    """Views of each image in a padded batch (no copies)."""
    if batch.ndim != 4 or len(batch) != len(sizes):
        raise ValueError(f"padded batch {batch.shape} does not match {len(sizes)} sizes")
    return [batch[index, :height, :width] for index, (height, width) in enumerate(sizes.tolist())]


def split_counts(items: Sequence[T], counts: Sequence[int]) -> list[list[T]]:
    """Cut a flat list back into consecutive groups of the given sizes (one group per request)."""
    groups: list[list[T]] = []
    start = 0
    for count in counts:
        groups.append(list(items[start : start + count]))
        start += count
    return groups
