from __future__ import annotations

import numpy as np
import pytest

from python_models.batching import pad_images, split_counts, unpad_images


def test_pad_and_unpad_round_trip_images_of_different_sizes() -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(4, 7), (9, 3), (5, 5)]]
    batch, sizes = pad_images(images)
    assert batch.shape == (3, 9, 7, 3) and sizes.tolist() == [[4, 7], [9, 3], [5, 5]]
    for original, restored in zip(images, unpad_images(batch, sizes), strict=True):
        np.testing.assert_array_equal(original, restored)


def test_single_image_is_not_copied() -> None:
    image = np.zeros((3, 4, 3), dtype=np.uint8)
    batch, _ = pad_images([image])
    assert np.shares_memory(batch, image)


def test_unpad_refuses_mismatched_sizes() -> None:
    with pytest.raises(ValueError, match="does not match"):
        unpad_images(np.zeros((2, 4, 4, 3), dtype=np.uint8), np.zeros((3, 2), dtype=np.int32))


def test_split_counts_cuts_in_order() -> None:
    assert split_counts(list("abcdef"), [1, 3, 0, 2]) == [["a"], ["b", "c", "d"], [], ["e", "f"]]
