"""Append class-aware non-maximum suppression to an exported YOLO graph, with standard ONNX ops.

Served contract of the resulting graph:

inputs
    images           float32 [batch, 3, H, W]  RGB scaled to 0..1
    score_threshold  float32 [1]               minimum class score kept
    iou_threshold    float32 [1]               overlap above which a lower-scored box is dropped
    max_detections   int64   [1]               boxes kept per class per image
output
    detections       float32 [K, 7]            rows (batch_index, x1, y1, x2, y2, score, class_id)

Boxes are corners in input-canvas pixels, clipped to the canvas. ONNX `NonMaxSuppression`
runs per image and per class, so suppression never crosses classes; each row's score is the
score of its own class. Rows come grouped by image, then by class, best score first.
"""

from __future__ import annotations

import logging

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from export.errors import NmsGraphError
from export.graph_checks import check_graph

logger = logging.getLogger(__name__)

IMAGES = "images"
SCORE_THRESHOLD = "score_threshold"
IOU_THRESHOLD = "iou_threshold"
MAX_DETECTIONS = "max_detections"
DETECTIONS = "detections"
DETECTION_COLUMNS = ("batch_index", "x1", "y1", "x2", "y2", "score", "class_id")
RAW_OUTPUT = "output0"
MIN_OPSET = 11  # GatherND


def append_nms(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return a copy of `model` whose only output is `detections` (see the module docstring)."""
    _check_source(model)
    served = onnx.ModelProto()
    served.CopyFrom(model)
    graph = served.graph
    graph.initializer.extend(_constants())
    graph.node.extend(_split_head() + _suppress() + _gather_rows())
    graph.input.extend(_threshold_inputs())
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(DETECTIONS, TensorProto.FLOAT, ["detections", 7]))
    check_graph(served, NmsGraphError, "the graph with NMS")
    logger.info("appended class-aware NMS: %s -> %s [K, 7]", RAW_OUTPUT, DETECTIONS)
    return served


def _check_source(model: onnx.ModelProto) -> None:
    opset = next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise NmsGraphError(f"NMS needs opset >= {MIN_OPSET}, the graph has opset {opset}")
    inputs = [value.name for value in model.graph.input]
    outputs = [value.name for value in model.graph.output]
    if inputs != [IMAGES] or outputs != [RAW_OUTPUT]:
        raise NmsGraphError(f"expected inputs [{IMAGES}] and outputs [{RAW_OUTPUT}], got {inputs} and {outputs}")


def _constants() -> list[onnx.TensorProto]:
    values: dict[str, np.ndarray] = {
        "nms/axis_1": np.array([1], np.int64),
        "nms/zero": np.array([0], np.int64),
        "nms/four": np.array([4], np.int64),
        "nms/two": np.array([2], np.int64),
        "nms/int_max": np.array([np.iinfo(np.int64).max], np.int64),
        "nms/scalar_shape": np.array([], np.int64),
        "nms/column_shape": np.array([-1, 1], np.int64),
        "nms/box_index_columns": np.array([0, 2], np.int64),
        "nms/batch_column": np.array([0], np.int64),
        "nms/class_column": np.array([1], np.int64),
        "nms/canvas_axes": np.array([3, 2, 3, 2], np.int64),
        "nms/half": np.array(0.5, np.float32),
        "nms/origin": np.array(0.0, np.float32),
    }
    return [numpy_helper.from_array(value, name) for name, value in values.items()]


def _split_head() -> list[onnx.NodeProto]:
    """output0 [b, 4+nc, A] -> boxes [b, A, 4] (cx, cy, w, h) and scores [b, nc, A]."""
    return [
        helper.make_node("Slice", [RAW_OUTPUT, "nms/zero", "nms/four", "nms/axis_1"], ["nms/boxes_by_coord"]),
        helper.make_node("Transpose", ["nms/boxes_by_coord"], ["nms/boxes"], perm=[0, 2, 1]),
        helper.make_node("Slice", [RAW_OUTPUT, "nms/four", "nms/int_max", "nms/axis_1"], ["nms/scores"]),
    ]


def _suppress() -> list[onnx.NodeProto]:
    """NonMaxSuppression over centre-format boxes; the [1]-shaped knobs become the scalars ONNX specifies."""
    knobs = [MAX_DETECTIONS, IOU_THRESHOLD, SCORE_THRESHOLD]
    scalars = [helper.make_node("Reshape", [name, "nms/scalar_shape"], [f"nms/{name}_scalar"]) for name in knobs]
    nms_inputs = ["nms/boxes", "nms/scores"] + [f"nms/{name}_scalar" for name in knobs]
    suppress = helper.make_node("NonMaxSuppression", nms_inputs, ["nms/selected"], center_point_box=1)
    return [*scalars, suppress]


def _gather_rows() -> list[onnx.NodeProto]:
    """selected [K, 3] (batch, class, anchor) -> detections [K, 7]."""
    return _gather_scores() + _gather_corners() + _gather_ids() + [
        helper.make_node(
            "Concat",
            ["nms/batch_index", "nms/clipped_corners", "nms/score_column", "nms/class_id"],
            [DETECTIONS],
            axis=1,
        )
    ]


def _gather_scores() -> list[onnx.NodeProto]:
    return [
        helper.make_node("GatherND", ["nms/scores", "nms/selected"], ["nms/selected_scores"]),
        helper.make_node("Reshape", ["nms/selected_scores", "nms/column_shape"], ["nms/score_column"]),
    ]


def _gather_corners() -> list[onnx.NodeProto]:
    node = helper.make_node
    return [
        node("Gather", ["nms/selected", "nms/box_index_columns"], ["nms/box_index"], axis=1),
        node("GatherND", ["nms/boxes", "nms/box_index"], ["nms/selected_boxes"]),
        node("Slice", ["nms/selected_boxes", "nms/zero", "nms/two", "nms/axis_1"], ["nms/centres"]),
        node("Slice", ["nms/selected_boxes", "nms/two", "nms/four", "nms/axis_1"], ["nms/sizes"]),
        node("Mul", ["nms/sizes", "nms/half"], ["nms/half_sizes"]),
        node("Sub", ["nms/centres", "nms/half_sizes"], ["nms/top_left"]),
        node("Add", ["nms/centres", "nms/half_sizes"], ["nms/bottom_right"]),
        node("Concat", ["nms/top_left", "nms/bottom_right"], ["nms/corners"], axis=1),
        *_clip_to_canvas("nms/corners", "nms/clipped_corners"),
    ]


def _clip_to_canvas(corners: str, clipped: str) -> list[onnx.NodeProto]:
    """Clip x1, y1, x2, y2 to [0, W] / [0, H], reading W and H from the images input."""
    node = helper.make_node
    return [
        node("Shape", [IMAGES], ["nms/image_shape"]),
        node("Gather", ["nms/image_shape", "nms/canvas_axes"], ["nms/canvas_int"]),
        node("Cast", ["nms/canvas_int"], ["nms/canvas"], to=TensorProto.FLOAT),
        node("Max", [corners, "nms/origin"], ["nms/corners_from_origin"]),
        node("Min", ["nms/corners_from_origin", "nms/canvas"], [clipped]),
    ]


def _gather_ids() -> list[onnx.NodeProto]:
    node = helper.make_node
    return [
        node("Gather", ["nms/selected", "nms/batch_column"], ["nms/batch_index_int"], axis=1),
        node("Cast", ["nms/batch_index_int"], ["nms/batch_index"], to=TensorProto.FLOAT),
        node("Gather", ["nms/selected", "nms/class_column"], ["nms/class_id_int"], axis=1),
        node("Cast", ["nms/class_id_int"], ["nms/class_id"], to=TensorProto.FLOAT),
    ]


def _threshold_inputs() -> list[onnx.ValueInfoProto]:
    make = helper.make_tensor_value_info
    return [
        make(SCORE_THRESHOLD, TensorProto.FLOAT, [1]),
        make(IOU_THRESHOLD, TensorProto.FLOAT, [1]),
        make(MAX_DETECTIONS, TensorProto.INT64, [1]),
    ]
