from __future__ import annotations

import cv2
import numpy as np
import pytest

from imaging.blur import BLUR_KINDS, blur_regions, pixel_boxes
from imaging.errors import InvalidOptionError
from tests.photos import photo_pixels

ASTRONAUT_FACE = np.array([[181.4, 58.2, 269.9, 177.8, 0.9]], dtype=np.float32)  # CenterFace's box


def outside_mask(shape: tuple[int, ...], boxes: np.ndarray) -> np.ndarray:
    mask = np.ones(shape[:2], dtype=bool)
    for x1, y1, x2, y2 in pixel_boxes(boxes, shape[1], shape[0]):
        mask[y1:y2, x1:x2] = False
    return mask


def detail_beyond_8x8(roi: np.ndarray) -> float:
    """Mean difference between ``roi`` and an 8x8 rendition of it: what a viewer could still read."""
    small = cv2.resize(roi, (8, 8), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(small, (roi.shape[1], roi.shape[0]), interpolation=cv2.INTER_LINEAR)
    return float(np.abs(roi.astype(np.float64) - coarse).mean())


@pytest.mark.parametrize("kind", BLUR_KINDS)
def test_only_pixels_inside_boxes_change(kind: str) -> None:
    pixels = photo_pixels("zidane.jpg")
    boxes = np.array([[552.4, 264.0, 667.2, 443.5], [911.0, 104.5, 1052.9, 283.6], [1250, 700, 1400, 800]])
    blurred = blur_regions(pixels, boxes, kind=kind)
    outside = outside_mask(pixels.shape, boxes)
    np.testing.assert_array_equal(blurred[outside], pixels[outside])
    faces = pixel_boxes(boxes, pixels.shape[1], pixels.shape[0])[:2]  # the third is a clipped corner
    for x1, y1, x2, y2 in faces:
        changed = np.abs(blurred[y1:y2, x1:x2].astype(int) - pixels[y1:y2, x1:x2]).mean()
        assert changed > 3, (kind, x1, y1)
    assert blurred is not pixels and blurred.flags.c_contiguous


@pytest.mark.parametrize("factor", [1, 4])
def test_gaussian_removes_detail_for_small_and_large_faces(factor: int) -> None:
    pixels, box = _astronaut_at(factor)
    blurred = blur_regions(pixels, box, kind="gaussian")
    x1, y1, x2, y2 = pixel_boxes(box, pixels.shape[1], pixels.shape[0])[0]
    before, after = detail_beyond_8x8(pixels[y1:y2, x1:x2]), detail_beyond_8x8(blurred[y1:y2, x1:x2])
    assert after < 0.2 * before


@pytest.mark.parametrize("factor", [1, 4])
def test_pixelate_keeps_about_8_blocks_across_small_and_large_faces(factor: int) -> None:
    pixels, box = _astronaut_at(factor)
    blurred = blur_regions(pixels, box, kind="pixelate")
    x1, y1, x2, y2 = pixel_boxes(box, pixels.shape[1], pixels.shape[0])[0]
    middle_row = blurred[(y1 + y2) // 2, x1:x2]  # across the smaller side
    assert 4 <= len(np.unique(middle_row, axis=0)) <= 9


def _astronaut_at(factor: int) -> tuple[np.ndarray, np.ndarray]:
    pixels = photo_pixels("astronaut.png")
    size = 512 // factor
    return cv2.resize(pixels, (size, size), interpolation=cv2.INTER_AREA), ASTRONAUT_FACE / factor


def test_stronger_blur_removes_more() -> None:
    pixels = photo_pixels("astronaut.png")
    x1, y1, x2, y2 = pixel_boxes(ASTRONAUT_FACE, 512, 512)[0]
    details = [
        detail_beyond_8x8(blur_regions(pixels, ASTRONAUT_FACE, strength=s)[y1:y2, x1:x2])
        for s in (0.25, 1.0, 3.0)
    ]
    assert details == sorted(details, reverse=True)


def test_no_boxes_gives_an_unchanged_copy() -> None:
    pixels = photo_pixels("coffee.png")
    for boxes in (np.zeros((0, 4), dtype=np.float32), np.zeros((0, 6)), np.array([])):
        blurred = blur_regions(pixels, boxes)
        np.testing.assert_array_equal(blurred, pixels)
        assert blurred is not pixels


def test_boxes_are_rounded_and_clipped() -> None:
    boxes = np.array([[-10.4, 5.5, 20.49, 700.0], [50, 50, 50, 60], [np.nan, 0, 4, 4]])
    np.testing.assert_array_equal(pixel_boxes(boxes, 600, 400), [[0, 6, 20, 400], [0, 0, 4, 4]])


def test_bad_options() -> None:
    pixels = photo_pixels("coffee.png")
    with pytest.raises(InvalidOptionError, match=r"blur kind must be one of \['gaussian', 'pixelate', 'median', 'box', 'bilateral'\]"):
        blur_regions(pixels, ASTRONAUT_FACE, kind="smudge")
    for strength in (0, -1.0, float("nan")):
        with pytest.raises(InvalidOptionError, match="strength"):
            blur_regions(pixels, ASTRONAUT_FACE, strength=strength)


@pytest.mark.parametrize("kind", BLUR_KINDS)
@pytest.mark.parametrize("size", [2, 12])
def test_blur_image_smooths_the_whole_image(kind: str, size: float) -> None:
    from imaging.blur import blur_image

    pixels = photo_pixels("astronaut.png")
    blurred = blur_image(pixels, kind=kind, size=size)
    assert blurred.shape == pixels.shape and blurred.dtype == np.uint8
    assert detail_beyond_8x8(blurred) <= detail_beyond_8x8(pixels)
    roughness = lambda image: np.abs(np.diff(image.astype(np.int16), axis=1)).mean()  # noqa: E731
    assert roughness(blurred) < 0.8 * roughness(pixels)
