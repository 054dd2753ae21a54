from __future__ import annotations

import numpy as np
import pytest

from imaging.errors import InvalidArrayError, InvalidOptionError
from imaging.letterbox import LetterboxTransform, boxes_to_original, letterbox, letterbox_batch
from tests.photos import photo_pixels


def test_wide_photo_is_padded_top_and_bottom() -> None:
    pixels = photo_pixels("zidane.jpg")  # 1280x720
    canvas, transform = letterbox(pixels, (640, 640))
    assert canvas.shape == (640, 640, 3) and canvas.dtype == np.uint8
    assert transform == LetterboxTransform(scale=0.5, pad_x=0.0, pad_y=140.0, width=1280, height=720)
    assert (canvas[:140] == 114).all() and (canvas[500:] == 114).all()
    assert np.abs(canvas[140:500].astype(int).mean() - pixels.mean()) < 1


def test_tall_photo_is_padded_left_and_right() -> None:
    canvas, transform = letterbox(photo_pixels("bus.jpg"), (640, 640), fill=0)  # 810x1080
    assert transform.pad_y == 0 and transform.pad_x == 80
    assert (canvas[:, :80] == 0).all() and (canvas[:, 560:] == 0).all()


def test_same_size_is_copied_unchanged() -> None:
    pixels = photo_pixels("astronaut.png")
    canvas, transform = letterbox(pixels, (512, 512))
    np.testing.assert_array_equal(canvas, pixels)
    assert transform.scale == 1 and transform.pad_x == transform.pad_y == 0


def test_boxes_round_trip_to_the_original() -> None:
    pixels = photo_pixels("zidane.jpg")
    _, transform = letterbox(pixels, (384, 640))
    original = np.array([[100, 50, 400, 700, 0.9], [1000, 0, 1280, 720, 0.5]], dtype=np.float32)
    on_canvas = original.copy()
    on_canvas[:, :4] = original[:, :4] * transform.scale + [transform.pad_x, transform.pad_y] * 2
    np.testing.assert_allclose(boxes_to_original(on_canvas, transform), original, atol=1e-3)


def test_boxes_are_clipped_to_the_image() -> None:
    transform = LetterboxTransform(scale=0.5, pad_x=0, pad_y=140, width=1280, height=720)
    boxes = np.array([[-20, 100, 700, 600]], dtype=np.float32)  # spills into the padding
    np.testing.assert_array_equal(boxes_to_original(boxes, transform), [[0, 0, 1280, 720]])


def test_batch_is_one_contiguous_nchw_float_array() -> None:
    images = [photo_pixels("zidane.jpg"), photo_pixels("bus.jpg"), photo_pixels("astronaut.png")]
    batch, transforms = letterbox_batch(images, (320, 480))
    assert batch.shape == (3, 3, 320, 480) and batch.dtype == np.float32 and batch.flags.c_contiguous
    assert batch.min() >= 0 and batch.max() <= 1
    for image, plane, transform in zip(images, batch, transforms, strict=True):
        canvas, expected = letterbox(image, (320, 480))
        assert transform == expected
        np.testing.assert_allclose(plane, canvas.transpose(2, 0, 1) / 255, rtol=1e-6)


def test_batch_without_unit_scale_keeps_0_255() -> None:
    batch, _ = letterbox_batch([photo_pixels("coffee.png")], (64, 64), unit_scale=False, fill=114)
    assert batch[0, :, 0, 0].tolist() == [114, 114, 114]
    assert batch.max() > 200


def test_bad_arguments() -> None:
    with pytest.raises(InvalidOptionError, match="size"):
        letterbox(photo_pixels("coffee.png"), (0, 64))
    with pytest.raises(InvalidOptionError, match="fill"):
        letterbox(photo_pixels("coffee.png"), (64, 64), fill=300)
    with pytest.raises(InvalidArrayError):
        letterbox_batch([np.zeros((4, 4), dtype=np.uint8)], (64, 64))
