"""Overlapping tiles of an image, and the merge of boxes found on them.

Tiles are views (no copies). A grid of rows x cols splits the image into equal cores; each tile
reaches ``overlap`` pixels past its core into its neighbours (clipped at the image border), so
neighbouring tiles share ``overlap`` pixels and anything smaller than that lies whole in one tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imaging.arrays import require_boxes
from imaging.errors import InvalidOptionError


@dataclass(frozen=True)
class Tile:
    row: int
    col: int
    x: int
    y: int
    width: int
    height: int

    def view(self, pixels: np.ndarray) -> np.ndarray:
        return pixels[self.y : self.y + self.height, self.x : self.x + self.width]

    def as_dict(self) -> dict[str, int]:
        return {"row": self.row, "col": self.col, "x": self.x, "y": self.y, "width": self.width, "height": self.height}


def grid(width: int, height: int, rows: int, cols: int, overlap: int = 0) -> list[Tile]:
    """rows x cols tiles covering a width x height image, row by row."""
    _check_grid(width, height, rows, cols, overlap)
    xs, ys = _spans(width, cols, overlap), _spans(height, rows, overlap)
    return [
        Tile(row, col, x0, y0, x1 - x0, y1 - y0)
        for row, (y0, y1) in enumerate(ys)
        for col, (x0, x1) in enumerate(xs)
    ]


def _check_grid(width: int, height: int, rows: int, cols: int, overlap: int) -> None:
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidOptionError(f"{name} must be an integer >= 1, got {value!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0:
        raise InvalidOptionError(f"overlap must be an integer >= 0 pixels, got {overlap!r}")
    if cols > width or rows > height:
        raise InvalidOptionError(f"a {rows}x{cols} grid does not fit a {width}x{height} image")


def _spans(length: int, count: int, overlap: int) -> list[tuple[int, int]]:
    cuts = [round(index * length / count) for index in range(count + 1)]
    before, after = overlap // 2, overlap - overlap // 2
    return [(max(0, cuts[i] - before), min(length, cuts[i + 1] + after)) for i in range(count)]


def tiles_for_size(width: int, height: int, tile_size: int, overlap: int) -> list[Tile]:
    """The fewest tiles of at most about ``tile_size`` a side (overlap included) that cover the image."""
    if tile_size <= overlap:
        raise InvalidOptionError(f"tile size {tile_size} must exceed the overlap {overlap}")
    cols = max(1, math.ceil((width - overlap) / (tile_size - overlap)))
    rows = max(1, math.ceil((height - overlap) / (tile_size - overlap)))
    return grid(width, height, rows, cols, overlap)


def merge_tiled_boxes(
    rows: np.ndarray, iou_threshold: float, containment: float = 0.5, class_column: int | None = None
) -> np.ndarray:
    """Boxes found on overlapping tiles (and on the whole image) merged into one set.

    ``rows`` are [N, 5+] (x1, y1, x2, y2, score, ...) in image coordinates. Greedy, best score
    first, per class when ``class_column`` is given: a box that overlaps a kept one by
    ``iou_threshold`` (the same object seen by two tiles) or lies mostly (``containment`` of the
    smaller area) inside it or around it (the part of a face that a tile border cut, and the
    whole face) is folded into it, and the kept box grows to their union. Plain NMS would keep
    the better-scored part and drop the whole; the union keeps a blur covering all either saw.
    """
    require_boxes(rows, min_columns=5, name="rows")
    ordered = rows[np.argsort(-rows[:, 4], kind="stable")].astype(np.float32)
    merged = np.empty_like(ordered)
    count = 0
    for row in ordered:
        host = _host(merged[:count], row, iou_threshold, containment, class_column)
        if host is None:
            merged[count] = row
            count += 1
        else:
            merged[host, :2] = np.minimum(merged[host, :2], row[:2])
            merged[host, 2:4] = np.maximum(merged[host, 2:4], row[2:4])
    return merged[:count].copy()


def _host(
    merged: np.ndarray, row: np.ndarray, iou_threshold: float, containment: float, class_column: int | None
) -> int | None:
    """Index of the first kept box (best score first) that ``row`` folds into, or None."""
    if not len(merged):
        return None
    width = np.minimum(merged[:, 2], row[2]) - np.maximum(merged[:, 0], row[0])
    height = np.minimum(merged[:, 3], row[3]) - np.maximum(merged[:, 1], row[1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    areas = (merged[:, 2] - merged[:, 0]) * (merged[:, 3] - merged[:, 1])
    area = (row[2] - row[0]) * (row[3] - row[1])
    smaller = np.maximum(np.minimum(areas, area), 1e-6)
    union = np.maximum(areas + area - inter, 1e-6)
    hosts = (width > 0) & (height > 0) & ((inter / smaller >= containment) | (inter / union >= iou_threshold))
    if class_column is not None:
        hosts &= merged[:, class_column] == row[class_column]
    found = np.flatnonzero(hosts)
    return int(found[0]) if len(found) else None
