"""Run a detector's ONNX graph with PyTorch on any torch device (CUDA on GPU hosts without TensorRT).

The same ``model.onnx`` files the CPU repository serves are executed node by node with torch
operators, so a GPU host that has torch but neither TensorRT nor onnxruntime-gpu runs the
detectors on its GPU with no second export (README "GPU hosts"). :class:`TorchSession` offers the
subset of ``onnxruntime.InferenceSession`` the detectors use: ``get_inputs()`` and
``run(output_names, feeds)`` over numpy arrays.

Only the operators the served graphs use are implemented (CenterFace: Conv, ConvTranspose,
BatchNormalization, Relu, Add, Sigmoid; the ultralytics YOLO graphs with NMS appended by
export/nms.py: 25 operators, NonMaxSuppression included); a graph holding another one fails at
load with :class:`UnsupportedGraphError` naming it, never at request time. Outputs equal ONNX
Runtime's within float32 rounding on CPU (tests/python_models/test_torch_session.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

Tensor = torch.Tensor
Operator = Callable[[list[Any], dict[str, Any]], list[Tensor]]

ONNX_DTYPES: dict[int, torch.dtype] = {
    onnx.TensorProto.FLOAT: torch.float32,
    onnx.TensorProto.FLOAT16: torch.float16,
    onnx.TensorProto.INT64: torch.int64,
    onnx.TensorProto.INT32: torch.int32,
    onnx.TensorProto.BOOL: torch.bool,
    onnx.TensorProto.UINT8: torch.uint8,
}


class UnsupportedGraphError(ValueError):
    """The graph uses an operator or attribute this runner does not implement."""


@dataclass(frozen=True)
class GraphInput:
    """An input as ``onnxruntime.NodeArg`` describes it: its name and dims (int, or a name when dynamic)."""

    name: str
    shape: list[int | str]


def _pair(values: Sequence[int], name: str) -> tuple[int, int]:
    """ONNX 2-D pads [top, left, bottom, right] -> torch's symmetric (top, left)."""
    if len(values) == 4 and (values[0], values[1]) != (values[2], values[3]):
        raise UnsupportedGraphError(f"asymmetric {name} {list(values)}")
    return int(values[0]), int(values[1])


def _conv(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, weight, *bias = inputs
    padding = _pair(attrs.get("pads", [0, 0, 0, 0]), "Conv pads")
    return [
        F.conv2d(
            x, weight, bias[0] if bias else None, stride=tuple(attrs.get("strides", [1, 1])),
            padding=padding, dilation=tuple(attrs.get("dilations", [1, 1])), groups=int(attrs.get("group", 1)),
        )
    ]


def _conv_transpose(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, weight, *bias = inputs
    return [
        F.conv_transpose2d(
            x, weight, bias[0] if bias else None, stride=tuple(attrs.get("strides", [1, 1])),
            padding=_pair(attrs.get("pads", [0, 0, 0, 0]), "ConvTranspose pads"),
            output_padding=tuple(attrs.get("output_padding", [0, 0])), groups=int(attrs.get("group", 1)),
            dilation=tuple(attrs.get("dilations", [1, 1])),
        )
    ]


def _batch_norm(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, scale, bias, mean, var = inputs
    return [F.batch_norm(x, mean, var, scale, bias, training=False, eps=float(attrs.get("epsilon", 1e-5)))]


def _max_pool(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    if attrs.get("dilations", [1, 1]) != [1, 1] or attrs.get("ceil_mode", 0):
        raise UnsupportedGraphError("MaxPool with dilations or ceil_mode")
    kernel = tuple(attrs["kernel_shape"])
    strides = tuple(attrs.get("strides", [1, 1]))
    return [F.max_pool2d(inputs[0], kernel, strides, _pair(attrs.get("pads", [0, 0, 0, 0]), "MaxPool pads"))]


def _resize(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    """Nearest, asymmetric, floor (ultralytics' Upsample) with scales or sizes."""
    mode = attrs.get("mode", b"nearest")
    transform = attrs.get("coordinate_transformation_mode", b"half_pixel")
    if mode != b"nearest" or transform != b"asymmetric" or attrs.get("nearest_mode", b"round_prefer_floor") != b"floor":
        raise UnsupportedGraphError(f"Resize mode {mode!r} / {transform!r}")
    x = inputs[0]
    scales = inputs[2] if len(inputs) > 2 and inputs[2] is not None and inputs[2].numel() else None
    if scales is not None:
        height, width = (int(x.shape[2] * float(s)) for s in scales.tolist()[2:])
    else:
        height, width = (int(s) for s in inputs[3].tolist()[2:])
    return [F.interpolate(x, size=(height, width), mode="nearest")]


def _split(inputs: list[Any], attrs: dict[str, Any], outputs: int) -> list[Tensor]:
    x = inputs[0]
    axis = int(attrs.get("axis", 0))
    if len(inputs) > 1 and inputs[1] is not None:
        sizes = [int(size) for size in inputs[1].tolist()]
    else:
        sizes = [-(-x.shape[axis] // outputs)] * outputs
    return list(torch.split(x, sizes, dim=axis))


def _gather(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    data, indices = inputs
    axis = int(attrs.get("axis", 0)) % data.dim()
    flat = indices.reshape(-1).long()
    flat = torch.where(flat < 0, flat + data.shape[axis], flat)
    picked = data.index_select(axis, flat)
    return [picked.reshape((*data.shape[:axis], *indices.shape, *data.shape[axis + 1 :]))]


def _gather_nd(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    if attrs.get("batch_dims", 0):
        raise UnsupportedGraphError("GatherND with batch_dims")
    data, indices = inputs
    index = tuple(indices[..., axis].long() for axis in range(indices.shape[-1]))
    return [data[index]]


def _unsqueeze(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x = inputs[0]
    axes = inputs[1].tolist() if len(inputs) > 1 else attrs["axes"]
    rank = x.dim() + len(axes)
    for axis in sorted(int(axis) % rank for axis in axes):
        x = x.unsqueeze(axis)
    return [x]


def _reshape(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, shape = inputs
    dims = [int(dim) for dim in shape.tolist()]
    if not attrs.get("allowzero", 0):
        dims = [x.shape[index] if dim == 0 else dim for index, dim in enumerate(dims)]
    return [x.reshape(dims)]


def _expand(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, shape = inputs
    return [x.expand(torch.broadcast_shapes(tuple(x.shape), tuple(int(dim) for dim in shape.tolist())))]


def _slice(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    x, starts, ends = inputs[:3]
    axes = inputs[3].tolist() if len(inputs) > 3 and inputs[3] is not None else list(range(len(starts)))
    steps = inputs[4].tolist() if len(inputs) > 4 and inputs[4] is not None else [1] * len(axes)
    index = [slice(None)] * x.dim()
    for start, end, axis, step in zip(starts.tolist(), ends.tolist(), axes, steps, strict=True):
        if step <= 0:
            raise UnsupportedGraphError("Slice with a step <= 0")
        size = x.shape[int(axis)]
        index[int(axis)] = slice(max(-size, min(start, size)), max(-size, min(end, size)), step)
    return [x[tuple(index)]]


def _divide(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    a, b = inputs
    if a.is_floating_point():
        return [a / b]
    return [torch.div(a, b, rounding_mode="trunc")]


def _constant_of_shape(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    value = attrs.get("value")
    fill = numpy_helper.to_array(value) if value is not None else np.zeros(1, np.float32)
    dtype = torch.from_numpy(fill.copy()).dtype
    return [torch.full([int(dim) for dim in inputs[0].tolist()], fill.reshape(-1)[0].item(), dtype=dtype, device=inputs[0].device)]


def _box_corners(boxes: Tensor, center_point_box: int) -> Tensor:
    if center_point_box:
        centre, size = boxes[..., :2], boxes[..., 2:4]
        return torch.cat([centre - size / 2, centre + size / 2], dim=-1)
    y1x1, y2x2 = boxes[..., :2], boxes[..., 2:4]
    return torch.cat([torch.minimum(y1x1, y2x2), torch.maximum(y1x1, y2x2)], dim=-1)


def greedy_nms(corners: Tensor, scores: Tensor, iou_threshold: float, limit: int) -> list[int]:
    """Indices into ``corners`` [N,4] kept by greedy NMS, best score first (ONNX semantics: a
    box is dropped when its IoU with a kept one is strictly above ``iou_threshold``)."""
    order = torch.argsort(scores, descending=True, stable=True)
    ordered = corners[order].double()
    low, high = ordered[:, :2], ordered[:, 2:]
    top_left = torch.maximum(low[:, None], low[None])
    bottom_right = torch.minimum(high[:, None], high[None])
    overlap = (bottom_right - top_left).clamp(min=0).prod(-1)
    area = (high - low).clamp(min=0).prod(-1)
    union = area[:, None] + area[None] - overlap
    iou = torch.where(union > 0, overlap / union.clamp(min=1e-12), torch.zeros_like(union))
    suppressed = (iou > iou_threshold).cpu().numpy()
    kept: list[int] = []
    alive = np.ones(len(order), dtype=bool)
    for position in range(len(order)):
        if not alive[position]:
            continue
        kept.append(position)
        if len(kept) == limit:
            break
        alive &= ~suppressed[position]
    return order[kept].tolist() if kept else []


def _non_max_suppression(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
    """ONNX NonMaxSuppression: [K, 3] (batch, class, box) int64, per batch and class best first."""
    boxes, scores = inputs[0], inputs[1]
    limit = int(inputs[2].reshape(-1)[0]) if len(inputs) > 2 and inputs[2] is not None and inputs[2].numel() else 0
    iou_threshold = float(inputs[3].reshape(-1)[0]) if len(inputs) > 3 and inputs[3] is not None else 0.0
    score_threshold = float(inputs[4].reshape(-1)[0]) if len(inputs) > 4 and inputs[4] is not None else None
    corners = _box_corners(boxes, int(attrs.get("center_point_box", 0)))
    selected: list[tuple[int, int, int]] = []
    for batch in range(scores.shape[0]):
        for class_id in range(scores.shape[1]):
            class_scores = scores[batch, class_id]
            candidates = torch.arange(class_scores.shape[0], device=class_scores.device)
            if score_threshold is not None:
                candidates = candidates[class_scores > score_threshold]
            if limit <= 0 or candidates.numel() == 0:
                continue
            kept = greedy_nms(corners[batch, candidates], class_scores[candidates], iou_threshold, limit)
            selected.extend((batch, class_id, index) for index in candidates[kept].tolist())
    rows = torch.tensor(selected, dtype=torch.int64, device=boxes.device).reshape(-1, 3)
    return [rows]


def _unary(function: Callable[[Tensor], Tensor]) -> Operator:
    return lambda inputs, attrs: [function(inputs[0])]


def _binary(function: Callable[[Tensor, Tensor], Tensor]) -> Operator:
    return lambda inputs, attrs: [function(inputs[0], inputs[1])]


def _variadic(function: Callable[[Tensor, Tensor], Tensor]) -> Operator:
    def run(inputs: list[Any], attrs: dict[str, Any]) -> list[Tensor]:
        result = inputs[0]
        for other in inputs[1:]:
            result = function(result, other)
        return [result]

    return run


OPERATORS: dict[str, Operator] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "BatchNormalization": _batch_norm,
    "MaxPool": _max_pool,
    "Resize": _resize,
    "Relu": _unary(torch.relu),
    "Sigmoid": _unary(torch.sigmoid),
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "Div": _divide,
    "Max": _variadic(torch.maximum),
    "Min": _variadic(torch.minimum),
    "Concat": lambda inputs, attrs: [torch.cat(list(inputs), dim=int(attrs["axis"]))],
    "Transpose": lambda inputs, attrs: [inputs[0].permute(*attrs["perm"])],
    "Softmax": lambda inputs, attrs: [torch.softmax(inputs[0], dim=int(attrs.get("axis", -1)))],
    "Shape": lambda inputs, attrs: [torch.tensor(tuple(inputs[0].shape), dtype=torch.int64, device=inputs[0].device)],
    "Cast": lambda inputs, attrs: [inputs[0].to(ONNX_DTYPES[int(attrs["to"])])],
    "Range": lambda inputs, attrs: [torch.arange(inputs[0].item(), inputs[1].item(), inputs[2].item(), device=inputs[0].device)],
    "ConstantOfShape": _constant_of_shape,
    "Gather": _gather,
    "GatherND": _gather_nd,
    "Unsqueeze": _unsqueeze,
    "Reshape": _reshape,
    "Expand": _expand,
    "Slice": _slice,
    "NonMaxSuppression": _non_max_suppression,
}


def _as_float32(tensor: Tensor) -> Tensor:
    return tensor.float() if tensor.is_floating_point() and tensor.dtype != torch.float32 else tensor


@dataclass(frozen=True)
class _Node:
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]


PRECISIONS = ("fp32", "fp16")


class TorchSession:
    """An ONNX graph run by torch on ``device`` ("cpu", "cuda", "cuda:1").

    ``run(output_names, feeds)`` takes and returns numpy arrays like ONNX Runtime's session
    (float outputs as float32); inputs go to the device once per call, outputs come back once.
    ``precision`` ``fp16`` runs the graph under torch.autocast (convolutions in float16, as a
    TensorRT FP16 plan would). ValueError for another precision; UnsupportedGraphError at load
    for an operator not in :data:`OPERATORS`; RuntimeError from torch (e.g. CUDA out of memory)
    propagates to the caller.
    """

    def __init__(self, model_path: Path, device: str = "cpu", precision: str = "fp32") -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
        graph = onnx.load(str(model_path)).graph
        self.device = torch.device(device)
        self.precision = precision
        self._constants = {
            item.name: torch.from_numpy(numpy_helper.to_array(item).copy()).to(self.device) for item in graph.initializer
        }
        self._nodes = [self._node(node) for node in graph.node]
        self._inputs = [
            GraphInput(item.name, [dim.dim_param or dim.dim_value for dim in item.type.tensor_type.shape.dim])
            for item in graph.input
            if item.name not in self._constants
        ]
        self._outputs = [item.name for item in graph.output]

    def _node(self, node: onnx.NodeProto) -> _Node:
        if node.domain not in ("", "ai.onnx"):
            raise UnsupportedGraphError(f"operator domain {node.domain!r} ({node.op_type})")
        if node.op_type not in OPERATORS and node.op_type not in ("Split", "Constant"):
            raise UnsupportedGraphError(f"operator {node.op_type} (node {node.name!r}) has no torch implementation here")
        attrs = {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}
        if node.op_type == "Constant":
            self._constants[node.output[0]] = torch.from_numpy(numpy_helper.to_array(attrs["value"]).copy()).to(self.device)
        return _Node(node.op_type, tuple(node.input), tuple(node.output), attrs)

    def get_inputs(self) -> list[GraphInput]:
        """The graph's inputs (initializers excluded), as ONNX Runtime lists them."""
        return list(self._inputs)

    def run(self, output_names: Sequence[str] | None, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """The named outputs (all when None) for ``feeds`` {input name: array}."""
        half = self.precision == "fp16"
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.float16, enabled=half):
            values = self.run_tensors({name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in feeds.items()})
        names = list(output_names) if output_names is not None else self._outputs
        return [_as_float32(values[name]).cpu().numpy() for name in names]

    def run_tensors(self, feeds: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Every value the graph computes, from torch tensors (moved to the session's device)."""
        missing = [item.name for item in self._inputs if item.name not in feeds]
        if missing:
            raise ValueError(f"missing graph inputs {missing}")
        values: dict[str, Any] = dict(self._constants)
        values.update({name: tensor.to(self.device) for name, tensor in feeds.items()})
        for node in self._nodes:
            if node.op_type == "Constant":
                continue
            inputs = [values[name] if name else None for name in node.inputs]
            if node.op_type == "Split":
                results = _split(inputs, node.attrs, len(node.outputs))
            else:
                results = OPERATORS[node.op_type](inputs, node.attrs)
            values.update(zip(node.outputs, results, strict=True))
        return values
