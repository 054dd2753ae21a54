"""export.yolo: ultralytics export with a fixed 640 canvas and a dynamic batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from export.errors import SourceNotFoundError, YoloExportError
from export.sources import default_yolo_weights
from export.yolo import ClassNames, export_yolo_onnx


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [dim.dim_value or dim.dim_param for dim in value.type.tensor_type.shape.dim]


def test_trained_detector_has_fixed_canvas_and_dynamic_batch(raw_detector: tuple[Path, ClassNames]) -> None:
    path, class_names = raw_detector
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert class_names == {0: "Normal", 1: "Fall"}
    assert [value.name for value in model.graph.input] == ["images"]
    assert _dims(model.graph.input[0]) == ["batch", 3, 640, 640]
    assert _dims(model.graph.output[0]) == ["batch", 6, 8400]


def test_exported_batch_dimension_runs_at_two(raw_detector: tuple[Path, ClassNames]) -> None:
    session = onnxruntime.InferenceSession(str(raw_detector[0]), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {"images": np.full((2, 3, 640, 640), 0.45, np.float32)})
    assert output.shape == (2, 6, 8400)


def test_export_leaves_the_checkpoint_folder_untouched(raw_detector: tuple[Path, ClassNames]) -> None:
    assert not default_yolo_weights().with_suffix(".onnx").exists()


def test_architecture_yaml_exports_random_weights(tmp_path: Path) -> None:
    path = tmp_path / "random.onnx"
    class_names = export_yolo_onnx("yolo11n.yaml", path, imgsz=320)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert len(class_names) == 80
    assert _dims(model.graph.input[0]) == ["batch", 3, 320, 320]
    assert _dims(model.graph.output[0]) == ["batch", 84, 2100]
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["random.onnx"]


def test_missing_weights_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="missing.pt"):
        export_yolo_onnx(tmp_path / "missing.pt", tmp_path / "out.onnx")


def test_canvas_must_be_a_multiple_of_the_stride(tmp_path: Path) -> None:
    with pytest.raises(YoloExportError, match="multiple of 32"):
        export_yolo_onnx("yolo11n.yaml", tmp_path / "out.onnx", imgsz=100)
