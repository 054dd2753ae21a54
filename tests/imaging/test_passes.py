"""The pass plan: which views an image gets, how they render, and how their boxes map back."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
from imaging.passes import (
    PassSettings,
    View,
    describe_passes,
    placement,
    plan_passes,
    pyramid_scales,
    render_batch,
    rotate_boxes,
    views_of,
)

FACES = PassSettings(min_size=48, detectable=32, largest=240, whole_size=640, tile_size=1280, tile_overlap=256, frame_size=128)


def test_1080p_gets_a_frame_the_whole_and_one_scaled_view() -> None:
    passes = plan_passes(1920, 1080, FACES)
    assert describe_passes(passes) == [
        {"kind": "frame", "scale": 0.0667, "count": 1, "rotations": [0]},
        {"kind": "whole", "scale": 0.3333, "count": 1, "rotations": [0]},
        {"kind": "scaled", "scale": 0.6667, "count": 1, "rotations": [0]},
    ]
    assert [item.views[0].size for item in passes] == [(128, 72), (640, 360), (1280, 720)]
    assert passes[0].views[0].pad == 64  # frame_pad 0.5 of 128 px on every side


def test_a_small_image_gets_the_whole_pass_only_enlarged_like_the_letterbox() -> None:
    passes = plan_passes(320, 240, PassSettings(min_size=48, detectable=32, whole_size=640))
    assert describe_passes(passes) == [{"kind": "whole", "scale": 2.0, "count": 1, "rotations": [0]}]


@pytest.mark.parametrize(("width", "height"), [(4000, 3000), (8000, 6000), (11547, 8660), (3000, 12000), (640, 50000)])
def test_tiles_cover_the_image_fit_the_canvas_and_share_the_largest_object(width: int, height: int) -> None:
    for item in plan_passes(width, height, FACES):
        if item.kind != "tiles":
            continue
        covered = np.zeros((height // 10 + 1, width // 10 + 1), dtype=bool)
        for view in item.views:
            assert max(view.size) <= FACES.tile_size
            covered[view.y // 10 : (view.y + view.height) // 10, view.x // 10 : (view.x + view.width) // 10] = True
        assert covered[:-1, :-1].all()
        lefts = sorted({view.x for view in item.views})
        rights = sorted({view.x + view.width for view in item.views})
        for left, previous_right in zip(lefts[1:], rights[:-1], strict=True):
            assert (previous_right - left) * item.scale >= FACES.largest  # the largest findable object fits the overlap


@pytest.mark.parametrize("size", [1920, 4000, 8000, 11547, 30000])
def test_the_levels_leave_no_gap_between_the_smallest_promised_object_and_the_whole_image(size: int) -> None:
    """Each pass finds objects of detectable/scale .. largest/scale original px; consecutive passes overlap."""
    scales = pyramid_scales(size, size * 3 // 4, FACES)
    assert scales and scales[0] * FACES.min_size >= FACES.detectable  # the smallest promised face is findable
    whole = FACES.whole_size / size
    for finer, coarser in zip(scales, [*scales[1:], whole], strict=True):
        assert FACES.largest / finer >= FACES.detectable / coarser


def test_min_size_zero_is_the_whole_pass_only_and_thorough_turns_every_pass() -> None:
    assert [item.kind for item in plan_passes(8000, 6000, PassSettings())] == ["whole"]
    passes = plan_passes(1920, 1080, FACES, thorough=True)
    assert all(item.rotations == (0, 90, 180, 270) for item in passes)
    assert len(list(views_of(passes))) == 4 * len(list(views_of(plan_passes(1920, 1080, FACES))))


def _marked(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    image = np.zeros((height, width, 3), dtype=np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = 255
    return image


def _bright_box(pixels: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(pixels[..., 0] > 127)
    return np.array([[cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]], dtype=np.float32)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("region", [(0, 0, 1200, 900, (600, 450)), (300, 200, 800, 600, (800, 600)), (100, 50, 1000, 800, (1500, 1200))])
def test_a_box_found_on_a_rendered_view_maps_back_to_the_original(rotation: int, region: tuple) -> None:
    x, y, width, height, size = region
    truth = (500, 400, 700, 520)
    image = _marked(1200, 900, truth)
    view = View(0, "tiles", x, y, width, height, size, rotation, pad=16)
    (canvas_height, canvas_width), offset = placement(view)
    canvas = np.zeros((canvas_height, canvas_width, 3), dtype=np.uint8)
    rendered = view.render(image)
    canvas[offset[1] : offset[1] + rendered.shape[0], offset[0] : offset[0] + rendered.shape[1]] = rendered
    found = view.to_original(_bright_box(canvas), offset)
    tolerance = 1.5 * width / size[0] + 1
    np.testing.assert_allclose(found[0], truth, atol=tolerance)


def test_rotate_boxes_matches_numpy_rot90_and_four_turns_are_the_identity() -> None:
    image = _marked(300, 200, (10, 20, 60, 50))
    box = _bright_box(image)
    for turns in range(1, 4):
        np.testing.assert_array_equal(rotate_boxes(box, 300, 200, turns), _bright_box(np.rot90(image, turns)))
    np.testing.assert_array_equal(rotate_boxes(box, 300, 200, 4), box)


def test_placement_centres_on_a_fixed_canvas_or_pads_to_a_multiple_of_32() -> None:
    view = View(0, "whole", 0, 0, 1920, 1080, (640, 360))
    assert placement(view, (640, 640)) == ((640, 640), (0, 140))
    assert placement(view) == ((384, 640), (0, 0))
    framed = View(0, "frame", 0, 0, 1920, 1080, (128, 72), pad=64)
    assert placement(framed) == ((224, 256), (64, 64))
    with pytest.raises(InvalidOptionError, match="does not fit"):
        placement(View(0, "tiles", 0, 0, 700, 700, (700, 700)), (640, 640))


def test_render_batch_fills_around_the_view_and_scales_to_unit() -> None:
    image = np.full((100, 200, 3), 255, dtype=np.uint8)
    views = [View(0, "whole", 0, 0, 200, 100, (64, 32)), View(0, "frame", 0, 0, 200, 100, (64, 32), pad=0)]
    batch = render_batch([image], views, [placement(view, (64, 64)) for view in views], unit_scale=True)
    assert batch.shape == (2, 3, 64, 64) and batch.dtype == np.float32
    assert batch[0, :, 16:48].min() == 1.0 and np.allclose(batch[0, :, :16], 114 / 255)


def test_a_huge_shrink_keeps_the_picture() -> None:
    """Shrinking 12 MP to a 128 px frame (strided, then averaged) keeps each half's colour."""
    image = np.zeros((3000, 4000, 3), dtype=np.uint8)
    image[:, 2000:] = 200
    rendered = View(0, "frame", 0, 0, 4000, 3000, (128, 96)).render(image)
    assert rendered.shape == (96, 128, 3)
    assert rendered[:, :60].max() == 0 and rendered[:, 68:].min() == 200


@pytest.mark.parametrize(
    ("changes", "named"),
    [({"detectable": 300}, "detectable"), ({"tile_overlap": 1280}, "tile_overlap"), ({"step": 10}, "step"), ({"min_size": -1}, "min_size")],
)
def test_bad_settings_are_named(changes: dict, named: str) -> None:
    with pytest.raises(InvalidOptionError, match=named):
        PassSettings(**{**FACES.__dict__, **changes})
