"""Export an ultralytics YOLO detector to ONNX with a fixed square canvas and a dynamic batch.

The exported graph maps `images` float32 [batch, 3, imgsz, imgsz] (RGB, 0..1) to ultralytics'
raw head `output0` float32 [batch, 4 + classes, anchors]: per anchor, a box (cx, cy, w, h) in
canvas pixels followed by one score per class. `export.nms` turns that into detections.

ultralytics writes its ONNX file next to the weights (or into the working directory for an
architecture yaml), so the export is steered into a temporary folder and never touches the
installed checkpoint package. `YOLO_OFFLINE=1` is set before ultralytics is imported: its import
otherwise probes DNS, and its requirement checks try to pip-install missing packages.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import onnx

from export.errors import SourceNotFoundError, YoloExportError

logger = logging.getLogger(__name__)

ClassNames = dict[int, str]
"""Class id to class name, as the detector was trained."""

INPUT_NAME = "images"
RAW_OUTPUT_NAME = "output0"
_ARCHITECTURE_SUFFIXES = {".yaml", ".yml"}
# ultralytics raises a mix of these for unreadable checkpoints and failed traces.
_ULTRALYTICS_ERRORS = (RuntimeError, AssertionError, OSError, ValueError, TypeError, KeyError)


def export_yolo_onnx(weights: Path | str, out_path: Path, imgsz: int = 640, opset: int = 17) -> ClassNames:
    """Export `weights` (a .pt checkpoint or an architecture yaml) to `out_path`; return its classes.

    An architecture yaml such as "yolo11n.yaml" builds the network with random weights: useful to
    test the export path, useless for detection.
    """
    if imgsz <= 0 or imgsz % 32:
        raise YoloExportError(f"imgsz must be a positive multiple of 32, got {imgsz}")
    source = _checked_source(weights)
    with tempfile.TemporaryDirectory(prefix="yolo-export-") as workdir:
        yolo = _load_yolo(source)
        produced = _run_export(yolo, Path(workdir), imgsz, opset)
        model = onnx.load(str(produced))
    class_names = {int(index): str(name) for index, name in yolo.names.items()}
    fix_spatial_dims(model, imgsz)
    check_raw_output(model, len(class_names))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out_path))
    logger.info("exported %s to %s at %dx%d (%d classes)", source, out_path, imgsz, imgsz, len(class_names))
    return class_names


def fix_spatial_dims(model: onnx.ModelProto, imgsz: int) -> None:
    """Pin the input to [batch, 3, imgsz, imgsz] in place, keeping the batch dimension symbolic.

    Intermediate shapes are re-inferred so the anchor count of `output0` becomes a number.
    """
    image_dims = _single_tensor(model.graph.input, INPUT_NAME).type.tensor_type.shape.dim
    for axis in (2, 3):
        image_dims[axis].Clear()
        image_dims[axis].dim_value = imgsz
    for output in model.graph.output:
        for dim in output.type.tensor_type.shape.dim[1:]:
            dim.Clear()
    del model.graph.value_info[:]
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    model.graph.CopyFrom(inferred.graph)


def check_raw_output(model: onnx.ModelProto, class_count: int) -> None:
    """Raise unless `output0` is float32 [batch, 4 + class_count, anchors] with a known anchor count."""
    tensor_type = _single_tensor(model.graph.output, RAW_OUTPUT_NAME).type.tensor_type
    dims = [dim.dim_value or dim.dim_param for dim in tensor_type.shape.dim]
    if tensor_type.elem_type != onnx.TensorProto.FLOAT:
        raise YoloExportError(f"{RAW_OUTPUT_NAME} must be float32, got elem_type {tensor_type.elem_type}")
    if len(dims) != 3 or dims[1] != 4 + class_count or not isinstance(dims[2], int):
        raise YoloExportError(
            f"{RAW_OUTPUT_NAME} has shape {dims}; expected [batch, {4 + class_count}, anchors] "
            "(an end-to-end or non-detection head is not supported)"
        )


def _checked_source(weights: Path | str) -> str:
    source = Path(weights)
    if source.suffix in _ARCHITECTURE_SUFFIXES and not source.exists():
        return str(weights)  # a built-in architecture name, resolved by ultralytics
    if not source.is_file():
        raise SourceNotFoundError(f"YOLO weights not found: {source}")
    return str(source)


def _load_yolo(source: str) -> Any:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO

    try:
        return YOLO(source, task="detect")
    except _ULTRALYTICS_ERRORS as error:
        raise YoloExportError(f"ultralytics could not load {source}: {error}") from error


def _run_export(yolo: Any, workdir: Path, imgsz: int, opset: int) -> Path:
    # The exporter names its file after `pt_path`; pointing it into workdir keeps the output there.
    yolo.model.pt_path = str(workdir / "model.pt")
    try:
        produced = yolo.export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, opset=opset)
    except _ULTRALYTICS_ERRORS as error:
        raise YoloExportError(f"ultralytics ONNX export failed: {error}") from error
    return Path(produced)


def _single_tensor(values: Any, name: str) -> onnx.ValueInfoProto:
    matches = [value for value in values if value.name == name]
    if len(matches) != 1:
        raise YoloExportError(f"expected one graph tensor named {name!r}, found {[v.name for v in values]}")
    return matches[0]
