"""export.nms: the served detector graph, run with ONNX Runtime on real letterboxed photos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from export.errors import NmsGraphError
from export.nms import append_nms
from export.publish import MODEL_FILE
from export.yolo import ClassNames
from tests.export.canvas import Letterboxed, blob, letterbox, to_source_pixels
from tests.photos import photo_pixels

SIZE = 640


def _session(path: Path) -> Any:
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def served(detector_dir: Path) -> Any:
    return _session(detector_dir / MODEL_FILE)


@pytest.fixture(scope="module")
def boxed() -> dict[str, Letterboxed]:
    return {name: letterbox(photo_pixels(name), SIZE, SIZE) for name in ("bus.jpg", "zidane.jpg", "astronaut.png")}


def _detect(session: Any, canvases: list[np.ndarray], score: float = 0.25, iou: float = 0.45, top: int = 100) -> Any:
    feed = {
        "images": blob(canvases, 255.0),
        "score_threshold": np.array([score], np.float32),
        "iou_threshold": np.array([iou], np.float32),
        "max_detections": np.array([top], np.int64),
    }
    return session.run(["detections"], feed)[0]


def test_served_contract(served: Any) -> None:
    inputs = [(value.name, value.type, value.shape) for value in served.get_inputs()]
    outputs = [(value.name, value.type, value.shape) for value in served.get_outputs()]
    assert inputs == [
        ("images", "tensor(float)", ["batch", 3, SIZE, SIZE]),
        ("score_threshold", "tensor(float)", [1]),
        ("iou_threshold", "tensor(float)", [1]),
        ("max_detections", "tensor(int64)", [1]),
    ]
    assert outputs == [("detections", "tensor(float)", ["detections", 7])]


def test_finds_the_people_on_the_bus_photo(served: Any, boxed: dict[str, Letterboxed]) -> None:
    bus = boxed["bus.jpg"]
    detections = _detect(served, [bus.canvas])
    assert detections.dtype == np.float32 and detections.shape[1] == 7
    assert len(detections) >= 3
    assert set(detections[:, 0]) == {0.0} and set(detections[:, 6]) <= {0.0, 1.0}
    assert np.all((detections[:, 5] >= 0.25) & (detections[:, 5] <= 1.0))
    corners = to_source_pixels(detections[:, 1:5], bus)
    height, width = photo_pixels("bus.jpg").shape[:2]
    assert np.all(corners[:, 2] > corners[:, 0]) and np.all(corners[:, 3] > corners[:, 1])
    slack = 4 / bus.scale  # regressed edges may reach a few canvas pixels into the padding
    assert np.all(corners >= -slack)
    assert np.all(corners[:, [0, 2]] <= width + slack) and np.all(corners[:, [1, 3]] <= height + slack)


def test_batch_rows_belong_to_their_images(served: Any, boxed: dict[str, Letterboxed]) -> None:
    names = ["bus.jpg", "zidane.jpg", "astronaut.png"]
    batched = _detect(served, [boxed[name].canvas for name in names])
    assert set(batched[:, 0]) == {0.0, 1.0, 2.0}
    for index, name in enumerate(names):
        alone = _detect(served, [boxed[name].canvas])
        mine = batched[batched[:, 0] == index]
        assert len(mine) == len(alone)
        np.testing.assert_allclose(mine[:, 1:], alone[:, 1:], rtol=1e-3, atol=0.05)


def test_score_threshold_is_respected(served: Any, boxed: dict[str, Letterboxed]) -> None:
    canvases = [boxed["bus.jpg"].canvas, boxed["zidane.jpg"].canvas]
    assert _detect(served, canvases, score=0.99).shape == (0, 7)
    loose = _detect(served, canvases, score=0.05)
    assert len(loose) > len(_detect(served, canvases, score=0.5))


def test_max_detections_caps_boxes_per_class_per_image(served: Any, boxed: dict[str, Letterboxed]) -> None:
    detections = _detect(served, [boxed["bus.jpg"].canvas, boxed["zidane.jpg"].canvas], score=0.01, top=1)
    pairs = [tuple(row) for row in detections[:, [0, 6]]]
    assert len(pairs) == len(set(pairs)) >= 2


def test_rows_match_the_raw_head(raw_detector: tuple[Path, ClassNames], served: Any, boxed: dict[str, Letterboxed]) -> None:
    """The best row of class 0 is the raw head's best anchor, converted from centre to corners."""
    canvas = boxed["bus.jpg"].canvas
    (raw,) = _session(raw_detector[0]).run(None, {"images": blob([canvas], 255.0)})
    best = int(np.argmax(raw[0, 4]))
    cx, cy, w, h = raw[0, :4, best]
    detections = _detect(served, [canvas])
    first = detections[detections[:, 6] == 0][0]
    np.testing.assert_allclose(first[1:6], [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, raw[0, 4, best]], rtol=1e-4)


def _toy_head(opset: int, output_name: str = "output0") -> onnx.ModelProto:
    node = helper.make_node("ReduceMean", ["images"], [output_name], axes=[2], keepdims=0)
    graph = helper.make_graph(
        [node],
        "toy",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", 3, 8])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_rejects_an_opset_without_gathernd() -> None:
    with pytest.raises(NmsGraphError, match="opset"):
        append_nms(_toy_head(opset=10))


def test_rejects_a_graph_without_output0() -> None:
    with pytest.raises(NmsGraphError, match="output0"):
        append_nms(_toy_head(opset=17, output_name="logits"))
