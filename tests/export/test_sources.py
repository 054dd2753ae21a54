"""export.sources: default checkpoints found inside installed packages."""

from __future__ import annotations

from export.sources import default_centerface_onnx, default_plate_weights, default_yolo_weights


def test_default_checkpoints_exist() -> None:
    assert default_yolo_weights().name == "best.pt" and default_yolo_weights().is_file()
    assert default_centerface_onnx().name == "centerface.onnx" and default_centerface_onnx().is_file()
    assert default_plate_weights().name == "best.pt" and default_plate_weights().parent.name == "safelicensing"
