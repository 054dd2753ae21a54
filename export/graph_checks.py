"""The one check every rewritten ONNX graph passes before it is saved."""

from __future__ import annotations

import onnx

from export.errors import ExportError


def check_graph(model: onnx.ModelProto, error: type[ExportError], what: str) -> None:
    """onnx.checker plus strict shape inference; failures become `error` naming `what`."""
    try:
        onnx.checker.check_model(model)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as failure:
        raise error(f"{what} is invalid: {failure}") from failure
