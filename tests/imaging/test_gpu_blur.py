"""The torch blurs equal imaging.blur's OpenCV result within MAX_DIFFERENCE grey levels (CPU here, CUDA under `gpu`)."""

from __future__ import annotations

import numpy as np
import pytest

from imaging import blur, gpu_blur
from imaging.errors import InvalidOptionError
from tests.photos import photo_pixels

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
# Boxes of 9 to 200 px, one overlapping another, one across the border, one a sliver.
BOXES = np.array(
    [[20, 30, 60, 70], [90, 40, 290, 230], [250, 200, 330, 300], [-10, 250, 31, 259.4], [5, 5, 14, 14], [150, 280, 152, 300]],
    dtype=np.float32,
)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return photo_pixels("grace_hopper.jpg")[:320, :320]


def differences(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.uint8
    return np.abs(ours.astype(np.int16) - theirs.astype(np.int16))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", blur.BLUR_KINDS)
@pytest.mark.parametrize("strength", [0.4, 1.0, 3.0])
def test_regions_equal_opencv_within_tolerance(photo: np.ndarray, kind: str, strength: float, device: str) -> None:
    expected = blur.blur_regions(photo, BOXES, kind=kind, strength=strength)
    found = gpu_blur.blur_regions(photo, BOXES, kind=kind, strength=strength, device=device)
    difference = differences(found, expected)
    inside = np.zeros(photo.shape[:2], dtype=bool)
    for x1, y1, x2, y2 in blur.pixel_boxes(BOXES, photo.shape[1], photo.shape[0]):
        inside[y1:y2, x1:x2] = True
    assert difference.max() <= gpu_blur.MAX_DIFFERENCE
    assert difference[inside].mean() < 0.5  # mostly equal: off by one where OpenCV rounds fixed-point weights
    np.testing.assert_array_equal(found[~inside], photo[~inside])  # outside every box: the input's pixels
    assert (found[inside] != photo[inside]).mean() > 0.5  # and the boxes are blurred


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", blur.BLUR_KINDS)
@pytest.mark.parametrize("size", [1, 4, 11.5])
def test_whole_image_equals_opencv_within_tolerance(photo: np.ndarray, kind: str, size: float, device: str) -> None:
    small = photo[:96, :128]
    difference = differences(gpu_blur.blur_image(small, kind=kind, size=size, device=device), blur.blur_image(small, kind=kind, size=size))
    assert difference.max() <= gpu_blur.MAX_DIFFERENCE


def test_input_untouched_and_no_boxes_is_a_copy(photo: np.ndarray) -> None:
    before = photo.copy()
    gpu_blur.blur_regions(photo, BOXES, device="cpu")
    np.testing.assert_array_equal(photo, before)
    unchanged = gpu_blur.blur_regions(photo, np.zeros((0, 4), np.float32), device="cpu")
    assert unchanged is not photo
    np.testing.assert_array_equal(unchanged, photo)


def test_bad_options_are_refused_like_the_cpu_path(photo: np.ndarray) -> None:
    with pytest.raises(InvalidOptionError, match="blur kind must be one of"):
        gpu_blur.blur_regions(photo, BOXES, kind="motion", device="cpu")
    with pytest.raises(InvalidOptionError, match="blur strength must be a finite number > 0"):
        gpu_blur.blur_regions(photo, BOXES, strength=float("nan"), device="cpu")
    with pytest.raises(InvalidOptionError, match="blur strength must be a finite number > 0"):
        gpu_blur.blur_image(photo, size=0, device="cpu")


def test_blur_model_backend_is_read_from_config_pbtxt(photo: np.ndarray) -> None:
    from python_models.model_config import configured_region_blur

    def config(**values: str) -> dict:
        return {"parameters": {key: {"string_value": value} for key, value in values.items()}}

    assert configured_region_blur(config()) is blur.blur_regions
    torch_blur = configured_region_blur(config(backend="torch", torch_device="cpu"))
    expected = gpu_blur.blur_regions(photo, BOXES, kind="box", strength=2.0, device="cpu")
    np.testing.assert_array_equal(torch_blur(photo, BOXES, kind="box", strength=2.0), expected)
    with pytest.raises(ValueError, match="blur backend must be opencv or torch, got 'cupy'"):
        configured_region_blur(config(backend="cupy"))
