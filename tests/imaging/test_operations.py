"""Geometric operations of a processing chain on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
from imaging.operations import crop, resize, rotate, target_size, tile
from tests.photos import photo_pixels


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"scale": 0.5}, (640, 360)),
        ({"new_width": 320}, (320, 180)),
        ({"new_height": 180}, (320, 180)),
        ({"new_width": 500, "new_height": 500}, (500, 500)),
        ({"new_width": 500, "new_height": 500, "fit": "within"}, (500, 281)),
        ({"new_width": 4000, "new_height": 720, "fit": "within"}, (1280, 720)),
    ],
)
def test_target_size(kwargs: dict, expected: tuple[int, int]) -> None:
    assert target_size(1280, 720, **kwargs) == expected


def test_target_size_refuses_nothing_and_giants() -> None:
    with pytest.raises(InvalidOptionError, match="needs width, height or scale"):
        target_size(10, 10)
    with pytest.raises(InvalidOptionError, match="exceeds 65535"):
        target_size(1280, 720, scale=60)


def test_resize_picks_area_to_shrink_and_keeps_the_picture() -> None:
    pixels = photo_pixels("zidane.jpg")
    small = resize(pixels, 640, 360)
    assert small.shape == (360, 640, 3)
    np.testing.assert_allclose(small.mean(axis=(0, 1)), pixels.mean(axis=(0, 1)), atol=1.0)
    with pytest.raises(InvalidOptionError, match="interpolation"):
        resize(pixels, 10, 10, interpolation="bogus")


def test_crop_is_exact_and_must_fit() -> None:
    pixels = photo_pixels("zidane.jpg")
    np.testing.assert_array_equal(crop(pixels, 10, 20, 30, 40), pixels[20:60, 10:40])
    with pytest.raises(InvalidOptionError, match=r"crop 300x40 at \(1000, 20\) does not lie inside the 1280x720 image"):
        crop(pixels, 1000, 20, 300, 40)


@pytest.mark.parametrize("angle", [90, 180, 270, -90, 360])
def test_right_angles_are_exact(angle: float) -> None:
    pixels = photo_pixels("astronaut.png")[:100, :200]
    np.testing.assert_array_equal(rotate(pixels, angle), np.rot90(pixels, k=int(angle // 90) % 4))


def test_other_angles_grow_the_canvas_and_fill_the_corners() -> None:
    pixels = photo_pixels("astronaut.png")
    turned = rotate(pixels, 45, fill=(255, 0, 0))
    assert turned.shape == (725, 725, 3)
    np.testing.assert_array_equal(turned[0, 0], [255, 0, 0])
    centre = turned[362 - 20 : 362 + 20, 362 - 20 : 362 + 20].mean()
    assert abs(centre - pixels[236:276, 236:276].mean()) < 20


def test_tile_gives_positions_and_views() -> None:
    pixels = photo_pixels("zidane.jpg")
    tiles = tile(pixels, 2, 3, overlap=20)
    assert len(tiles) == 6
    position, view = tiles[4]
    assert (position.row, position.col) == (1, 1) and view.shape == (position.height, position.width, 3)
    np.testing.assert_array_equal(view, pixels[position.y : position.y + position.height, position.x : position.x + position.width])
