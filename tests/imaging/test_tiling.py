"""Tile grids and the merge of boxes found on overlapping tiles."""

from __future__ import annotations

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
from imaging.tiling import grid, merge_tiled_boxes, tiles_for_size


def test_grid_cores_partition_the_image_and_neighbours_share_the_overlap() -> None:
    tiles = grid(100, 60, rows=2, cols=3, overlap=10)
    assert [(tile.row, tile.col) for tile in tiles] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert [(tile.x, tile.width) for tile in tiles[:3]] == [(0, 38), (28, 44), (62, 38)]
    assert [(tile.y, tile.height) for tile in tiles[::3]] == [(0, 35), (25, 35)]
    first, second = tiles[0], tiles[1]
    assert first.x + first.width - second.x == 10


def test_tiles_are_views() -> None:
    pixels = np.arange(60 * 100 * 3, dtype=np.uint8).reshape(60, 100, 3)
    tile = grid(100, 60, 2, 2)[3]
    view = tile.view(pixels)
    assert np.shares_memory(view, pixels) and view.shape == (30, 50, 3)


def test_tiles_for_size_keeps_every_tile_within_the_size() -> None:
    tiles = tiles_for_size(8000, 6000, 1280, 256)
    assert len(tiles) == 48 and max(max(tile.width, tile.height) for tile in tiles) <= 1280
    assert len(tiles_for_size(500, 300, 1280, 256)) == 1


@pytest.mark.parametrize(("args", "named"), [((100, 60, 0, 2, 0), "rows"), ((100, 60, 2, 2, -1), "overlap"), ((3, 60, 2, 5, 0), "does not fit")])
def test_bad_grids_are_named(args: tuple[int, ...], named: str) -> None:
    with pytest.raises(InvalidOptionError, match=named):
        grid(*args)


def test_merge_folds_a_border_cut_part_into_the_whole_face() -> None:
    rows = np.array(
        [
            [100, 100, 200, 220, 0.9],  # the whole face, seen by one tile
            [100, 100, 150, 220, 0.95],  # its left half, cut by the other tile's border
            [102, 101, 199, 221, 0.8],  # the same face again from the whole-image view
            [500, 500, 560, 560, 0.7],  # another face
        ],
        dtype=np.float32,
    )
    merged = merge_tiled_boxes(rows, iou_threshold=0.3)
    assert len(merged) == 2
    np.testing.assert_allclose(merged[0], [100, 100, 200, 221, 0.95])  # the union of all three
    np.testing.assert_allclose(merged[1], [500, 500, 560, 560, 0.7])


def test_merge_is_per_class_when_asked() -> None:
    rows = np.array([[0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10, 0.8, 1]], dtype=np.float32)
    assert len(merge_tiled_boxes(rows, 0.5, class_column=5)) == 2
    assert len(merge_tiled_boxes(rows, 0.5)) == 1
    assert merge_tiled_boxes(np.empty((0, 5), np.float32), 0.5).shape == (0, 5)
