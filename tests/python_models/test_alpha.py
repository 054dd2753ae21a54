"""python_models.alpha: alpha channels padded beside the RGB batch and put back by encode."""

from __future__ import annotations

import numpy as np
import pytest

from python_models.alpha import pad_alphas, unpad_alphas, with_alpha


def test_alphas_round_trip_with_images_that_have_none() -> None:
    first = np.arange(12, dtype=np.uint8).reshape(3, 4)
    last = np.full((5, 2), 9, np.uint8)
    batch, sizes = pad_alphas([first, None, last])
    assert batch.shape == (3, 5, 4) and sizes.tolist() == [[3, 4], [0, 0], [5, 2]]
    back = unpad_alphas(batch, sizes, 3)
    np.testing.assert_array_equal(back[0], first)
    assert back[1] is None
    np.testing.assert_array_equal(back[2], last)


def test_a_batch_without_alpha_is_one_pixel_per_image() -> None:
    batch, sizes = pad_alphas([None, None])
    assert batch.shape == (2, 1, 1) and not sizes.any()
    assert unpad_alphas(batch, sizes, 2) == [None, None]
    assert unpad_alphas(None, None, 2) == [None, None]  # a caller that sends no alpha tensors


def test_mismatched_batches_are_refused() -> None:
    batch, sizes = pad_alphas([None])
    with pytest.raises(ValueError, match="do not match 2 images"):
        unpad_alphas(batch, sizes, 2)


@pytest.mark.parametrize(("fmt", "kept"), [("png", True), ("webp", True), ("tiff", True), ("jp2", True), ("j2k", True), ("jpeg", False)])
def test_alpha_goes_back_where_the_format_holds_it(fmt: str, kept: bool) -> None:
    pixels = np.full((2, 3, 3), 200, np.uint8)
    alpha = np.array([[0, 128, 255], [255, 0, 1]], np.uint8)
    out, was_kept = with_alpha(pixels, alpha, fmt)
    assert was_kept is kept and out.shape == ((2, 3, 4) if kept else (2, 3, 3))
    if kept:
        np.testing.assert_array_equal(out[:, :, 3], alpha)
        np.testing.assert_array_equal(out[:, :, :3], pixels)
    assert with_alpha(pixels, None, fmt)[1] is False
