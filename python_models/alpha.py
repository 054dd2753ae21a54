"""Alpha channels beside the RGB pixels: decode sends them past detection and blur to encode.

Detection and blur work on HxWx3 RGB; the input's alpha (an alpha channel, or a PNG tRNS chunk)
travels on its own as ``decoded_alpha`` [N, Hmax, Wmax] uint8 zero-padded, with ``alpha_size``
[N, 2] (height, width), (0, 0) for an image without alpha. encode puts it back where the output
format can hold it (PNG, WebP, TIFF, JPEG 2000); JPEG cannot, and gets the colour channels as
stored (no background colour is invented). Plain numpy, no Triton.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ALPHA_FORMATS = frozenset({"png", "webp", "tiff", "jp2", "j2k"})


def pad_alphas(alphas: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """([N, Hmax, Wmax] uint8 batch, [N, 2] int32 sizes) of HxW alphas; None becomes size (0, 0)."""
    sizes = np.array([(0, 0) if alpha is None else alpha.shape[:2] for alpha in alphas], dtype=np.int32).reshape(-1, 2)
    height, width = (int(value) for value in np.maximum(sizes.max(axis=0, initial=0), 1))
    batch = np.zeros((len(alphas), height, width), dtype=np.uint8)
    for index, alpha in enumerate(alphas):
        if alpha is not None:
            batch[index, : alpha.shape[0], : alpha.shape[1]] = alpha
    return batch, sizes


def unpad_alphas(batch: np.ndarray | None, sizes: np.ndarray | None, count: int) -> list[np.ndarray | None]:
    """The ``count`` alphas of a padded batch (views); all None when the tensors were not sent."""
    if batch is None or sizes is None:
        return [None] * count
    if batch.ndim != 3 or len(batch) != count or sizes.shape != (count, 2):
        raise ValueError(f"alpha batch {batch.shape} / sizes {sizes.shape} do not match {count} images")
    return [None if height == 0 else batch[index, :height, :width] for index, (height, width) in enumerate(sizes.tolist())]


def with_alpha(pixels: np.ndarray, alpha: np.ndarray | None, fmt: str) -> tuple[np.ndarray, bool]:
    """(HxWx3 or HxWx4 pixels to encode as ``fmt``, whether the alpha was kept)."""
    if alpha is None or fmt not in ALPHA_FORMATS:
        return pixels, False
    if alpha.shape != pixels.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match pixels {pixels.shape}")
    return np.ascontiguousarray(np.dstack([pixels, alpha])), True
