"""The blurs of :mod:`imaging.blur` with torch, on a CUDA device (or the CPU, where they are tested).

Same regions, same sizes, same steps as the OpenCV path: each box's ROI is rounded and clipped
by :func:`imaging.blur.pixel_boxes`, its size derived the same way, wide blurs applied at reduced
resolution (OpenCV's INTER_AREA down, INTER_LINEAR or INTER_NEAREST up, rebuilt as exact weight
matrices), borders reflected as BORDER_REFLECT_101 (median: replicated, as cv2.medianBlur does).
Every step rounds to uint8 as OpenCV does. OpenCV's uint8 Gaussian and linear resize use
fixed-point weights where these use float32, so a pixel may differ from imaging.blur's by a few
grey levels: **tolerance** :data:`MAX_DIFFERENCE` (per pixel and channel, inside the boxes);
every pixel outside all boxes is bit-identical to the input (tests/imaging/test_gpu_blur.py,
on CPU here and on CUDA under the `gpu` marker).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from imaging.arrays import require_boxes, require_rgb
from imaging.blur import (
    BILATERAL_SIGMA_COLOR,
    MAX_DIRECT_RADIUS,
    MAX_DIRECT_SIGMA,
    MIN_BLOCK,
    SIDE_FRACTION,
    check_options,
    pixel_boxes,
)

MAX_DIFFERENCE = 2
"""Largest difference in grey levels from imaging.blur's result, any kind and strength, on CPU
(zidane.jpg and grace_hopper.jpg, boxes of 9-500 px, strengths 0.3-5; whole-image sizes 1-12 px);
inside the boxes the mean difference is under 0.5."""

Tensor = torch.Tensor


def blur_regions(
    pixels: np.ndarray, boxes: np.ndarray, *, kind: str = "gaussian", strength: float = 1.0, device: str = "cuda"
) -> np.ndarray:
    """imaging.blur.blur_regions on ``device``: HxWx3 uint8 in, a blurred copy out (one copy each
    way). InvalidOptionError for a bad kind or strength, like the CPU path."""
    require_rgb(pixels)
    check_options(kind, strength)
    if boxes.size == 0:
        return pixels.copy()
    require_boxes(boxes)
    image = torch.from_numpy(np.require(pixels, requirements=["C", "W"])).to(device)
    return blur_regions_tensor(image, boxes, kind=kind, strength=strength).cpu().numpy()


def blur_regions_tensor(image: Tensor, boxes: np.ndarray, *, kind: str = "gaussian", strength: float = 1.0) -> Tensor:
    """A blurred copy of an HxWx3 uint8 tensor, on its own device (no host round trip): boxes
    [N,4+] x1,y1,x2,y2 in pixels, blurred in turn as imaging.blur does."""
    check_options(kind, strength)
    blurred = image.clone()
    height, width = image.shape[:2]
    for x1, y1, x2, y2 in pixel_boxes(boxes, width, height).tolist() if boxes.size else []:
        roi = blurred[y1:y2, x1:x2].permute(2, 0, 1).float()
        side = min(y2 - y1, x2 - x1)
        blurred[y1:y2, x1:x2] = _blur_sized(roi, kind, side * SIDE_FRACTION * strength).permute(1, 2, 0).to(torch.uint8)
    return blurred


def blur_image(pixels: np.ndarray, *, kind: str = "gaussian", size: float = 8.0, device: str = "cuda") -> np.ndarray:
    """imaging.blur.blur_image on ``device``: the whole HxWx3 uint8 image, ``size`` in pixels."""
    require_rgb(pixels)
    check_options(kind, size)
    image = torch.from_numpy(np.require(pixels, requirements=["C", "W"])).to(device).permute(2, 0, 1).float()
    return _blur_sized(image, kind, size).permute(1, 2, 0).to(torch.uint8).cpu().numpy()


def _blur_sized(roi: Tensor, kind: str, size: float) -> Tensor:
    """[3,H,W] float32 of uint8 values -> the same, blurred (imaging.blur._blur_sized)."""
    if kind == "gaussian":
        sigma = max(size, 0.5)
        if sigma <= MAX_DIRECT_SIGMA:
            return _gaussian(roi, sigma)
        return _through_small(roi, sigma / MAX_DIRECT_SIGMA, lambda small: _gaussian(small, MAX_DIRECT_SIGMA))
    if kind == "pixelate":
        block = max(MIN_BLOCK, round(size))
        height, width = roi.shape[1:]
        small = _area(roi, max(1, round(height / block)), max(1, round(width / block)))
        return _nearest(small, height, width)
    radius = max(1, round(size))
    if radius <= MAX_DIRECT_RADIUS:
        return _filter(roi, kind, radius)
    return _through_small(roi, radius / MAX_DIRECT_RADIUS, lambda small: _filter(small, kind, MAX_DIRECT_RADIUS))


def _through_small(roi: Tensor, factor: float, blur: Callable[[Tensor], Tensor]) -> Tensor:
    height, width = roi.shape[1:]
    small = _area(roi, max(1, round(height / factor)), max(1, round(width / factor)))
    return _linear(blur(small), height, width)


def _quantised(values: Tensor) -> Tensor:
    """Round half to even and saturate, as OpenCV's saturate_cast<uchar> does."""
    return torch.round(values).clamp_(0, 255)


def _resampled(roi: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """[3,H,W] -> [3,h,w] through weight matrices rows [h,H] and cols [w,W]."""
    return _quantised(torch.matmul(torch.matmul(rows, roi), cols.T))


def _area_weights(source: int, target: int, device: torch.device) -> Tensor:
    """OpenCV's INTER_AREA weights for shrinking ``source`` samples to ``target`` (computeResizeAreaTab)."""
    scale = source / target
    weights = np.zeros((target, source), dtype=np.float64)
    for index in range(target):
        start, end = index * scale, index * scale + scale
        first, last = math.ceil(start), min(math.floor(end), source)
        cell = min(scale, source - start)
        if first - start > 1e-3:
            weights[index, first - 1] = (first - start) / cell
        weights[index, first:last] = 1 / cell
        if last < source and end - last > 1e-3:
            weights[index, last] = min(min(end - last, 1.0), cell) / cell
    return torch.from_numpy(weights.astype(np.float32)).to(device)


def _linear_weights(source: int, target: int, device: torch.device) -> Tensor:
    """OpenCV's INTER_LINEAR weights (half-pixel centres, clamped at both edges)."""
    weights = np.zeros((target, source), dtype=np.float64)
    scale = source / target
    for index in range(target):
        position = (index + 0.5) * scale - 0.5
        left = math.floor(position)
        fraction = position - left
        if left < 0:
            left, fraction = 0, 0.0
        if left >= source - 1:
            left, fraction = source - 1, 0.0
        weights[index, left] += 1 - fraction
        if fraction:
            weights[index, left + 1] += fraction
    return torch.from_numpy(weights.astype(np.float32)).to(device)


def _area(roi: Tensor, height: int, width: int) -> Tensor:
    source_height, source_width = roi.shape[1:]
    return _resampled(roi, _area_weights(source_height, height, roi.device), _area_weights(source_width, width, roi.device))


def _linear(roi: Tensor, height: int, width: int) -> Tensor:
    source_height, source_width = roi.shape[1:]
    return _resampled(roi, _linear_weights(source_height, height, roi.device), _linear_weights(source_width, width, roi.device))


def _nearest(roi: Tensor, height: int, width: int) -> Tensor:
    """OpenCV's INTER_NEAREST: source index floor(dst * (1 / (dst_size / src_size)))."""
    source_height, source_width = roi.shape[1:]
    rows = _nearest_index(source_height, height, roi.device)
    cols = _nearest_index(source_width, width, roi.device)
    return roi.index_select(1, rows).index_select(2, cols)


def _nearest_index(source: int, target: int, device: torch.device) -> Tensor:
    inverse = 1.0 / (target / source)
    index = np.minimum(np.floor(np.arange(target) * inverse), source - 1).astype(np.int64)
    return torch.from_numpy(index).to(device)


def _reflect_101(length: int, radius: int, device: torch.device) -> Tensor:
    """Source indices of a row padded by ``radius`` each side, mirrored without repeating the edge."""
    index = np.arange(-radius, length + radius)
    if length == 1:
        return torch.zeros(len(index), dtype=torch.int64, device=device)
    period = 2 * (length - 1)
    index = np.abs(index) % period
    index = np.where(index >= length, period - index, index)
    return torch.from_numpy(index).to(device)


def _separable(roi: Tensor, kernel: Tensor) -> Tensor:
    """Correlate rows then columns with a 1-D kernel, BORDER_REFLECT_101."""
    radius = (len(kernel) - 1) // 2
    channels, height, width = roi.shape
    padded = roi.index_select(2, _reflect_101(width, radius, roi.device))
    rows = F.conv1d(padded.reshape(channels * height, 1, -1), kernel.view(1, 1, -1)).reshape(channels, height, width)
    padded = rows.index_select(1, _reflect_101(height, radius, roi.device)).transpose(1, 2)
    columns = F.conv1d(padded.reshape(channels * width, 1, -1), kernel.view(1, 1, -1)).reshape(channels, width, height)
    return _quantised(columns.transpose(1, 2))


def _gaussian(roi: Tensor, sigma: float) -> Tensor:
    """cv2.GaussianBlur(ksize (0, 0)) on uint8: kernel size round(6 sigma + 1) | 1."""
    size = int(np.rint(sigma * 3 * 2 + 1)) | 1
    offsets = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-(offsets**2) / (2 * sigma * sigma))
    return _separable(roi, torch.from_numpy((kernel / kernel.sum()).astype(np.float32)).to(roi.device))


def _filter(roi: Tensor, kind: str, radius: int) -> Tensor:
    if kind == "median":
        return _median(roi, radius)
    if kind == "box":
        diameter = 2 * radius + 1
        return _separable(roi, torch.full((diameter,), 1 / diameter, device=roi.device))
    return _bilateral(roi, radius)


def _median(roi: Tensor, radius: int) -> Tensor:
    """cv2.medianBlur: a (2r+1)^2 window, edges replicated."""
    channels, height, width = roi.shape
    rows = torch.arange(-radius, height + radius, device=roi.device).clamp(0, height - 1)
    cols = torch.arange(-radius, width + radius, device=roi.device).clamp(0, width - 1)
    padded = roi.index_select(1, rows).index_select(2, cols)
    windows = padded.unfold(1, 2 * radius + 1, 1).unfold(2, 2 * radius + 1, 1)
    return windows.reshape(channels, height, width, -1).median(dim=-1).values


def _bilateral(roi: Tensor, radius: int) -> Tensor:
    """cv2.bilateralFilter(d = 2r+1, sigmaColor 75, sigmaSpace r): a disc of offsets, the colour
    distance the sum of the channels' absolute differences, BORDER_REFLECT_101."""
    channels, height, width = roi.shape
    padded = roi.index_select(1, _reflect_101(height, radius, roi.device)).index_select(2, _reflect_101(width, radius, roi.device))
    colour = np.exp(np.arange(256 * channels) ** 2 * (-0.5 / BILATERAL_SIGMA_COLOR**2)).astype(np.float32)
    colour_weights = torch.from_numpy(colour).to(roi.device)
    total = torch.zeros_like(roi)
    weight_sum = torch.zeros((height, width), device=roi.device)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            distance = math.sqrt(dy * dy + dx * dx)
            if distance > radius:
                continue
            shifted = padded[:, radius + dy : radius + dy + height, radius + dx : radius + dx + width]
            difference = (shifted - roi).abs().sum(dim=0).long()
            weight = colour_weights[difference] * math.exp(distance * distance * (-0.5 / (radius * radius)))
            total += shifted * weight
            weight_sum += weight
    return _quantised(total / weight_sum)
