"""The served ONNX graphs run by torch (GPU hosts without TensorRT) answer what ONNX Runtime answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from imaging.letterbox import letterbox
from python_models.detectors import SessionSettings, open_session
from python_models.model_config import configured_centerface, configured_yolo
from python_models.torch_session import TorchSession, UnsupportedGraphError
from tests.photos import photo_pixels

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
FACES_MODEL = next(iter(sorted(REPOSITORY.glob("faces/*/model.onnx"))), None)
PLATES_MODEL = next(iter(sorted(REPOSITORY.glob("plates/*/model.onnx"))), None)
needs_models = pytest.mark.skipif(FACES_MODEL is None or PLATES_MODEL is None,
                                  reason="no exported models: run `python -m export ensure`")
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
# Boxes within 0.5 px and scores within 1e-3 of ONNX Runtime's (float32 on both sides; on CUDA
# cuDNN may pick other convolution algorithms, still float32).
BOX_TOLERANCE, SCORE_TOLERANCE = 0.5, 1e-3


def runtime_config(runtime: str, device: str) -> dict:
    values = {"session_batch": "4", "runtime": runtime, "runtime_device": device}
    return {"parameters": {key: {"string_value": value} for key, value in values.items()}}


def canvas(name: str, size: int, unit: float = 1.0) -> np.ndarray:
    """A real photo letterboxed into a size x size NCHW float32 batch of one, 0..255 * ``unit``."""
    image, _ = letterbox(photo_pixels(name), (size, size))
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(unit))


def sorted_rows(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])]


@needs_models
@pytest.mark.parametrize("device", DEVICES)
def test_centerface_outputs_equal_onnx_runtime(device: str) -> None:
    feeds = {"images": canvas("astronaut.png", 320)}
    expected = open_session(FACES_MODEL, SessionSettings()).run(None, feeds)
    found = TorchSession(FACES_MODEL, device).run(None, feeds)
    assert [array.shape for array in found] == [array.shape for array in expected] == [
        (1, 1, 80, 80), (1, 2, 80, 80), (1, 2, 80, 80), (1, 10, 80, 80)]
    for ours, theirs in zip(found, expected, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-4, rtol=1e-4)


@needs_models
@pytest.mark.parametrize("device", DEVICES)
def test_yolo_graph_with_nms_gives_onnx_runtimes_rows(device: str) -> None:
    """The plates graph, NonMaxSuppression included, on a real photo at a low threshold (many rows)."""
    feeds = {
        "images": np.concatenate([canvas("grace_hopper.jpg", 640, 1 / 255), canvas("astronaut.png", 640, 1 / 255)]),
        "score_threshold": np.array([0.001], np.float32),
        "iou_threshold": np.array([0.45], np.float32),
        "max_detections": np.array([300], np.int64),
    }
    (expected,) = open_session(PLATES_MODEL, SessionSettings()).run(["detections"], feeds)
    (found,) = TorchSession(PLATES_MODEL, device).run(["detections"], feeds)
    assert found.shape == expected.shape and len(found) > 2
    np.testing.assert_allclose(sorted_rows(found), sorted_rows(expected), atol=1e-2)


@needs_models
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("build", [configured_yolo, configured_centerface], ids=["plates", "faces"])
def test_detectors_on_torch_find_what_they_find_on_onnx_runtime(build, device: str) -> None:
    """Through the served detector classes (passes, tiles, merging) with config.pbtxt's `runtime`."""
    model = PLATES_MODEL if build is configured_yolo else FACES_MODEL
    images = [photo_pixels("grace_hopper.jpg"), photo_pixels("astronaut.png")[:360, :480]]
    expected = build(runtime_config("onnxruntime", "cpu"), model.parent).detect(images, score_threshold=0.05)
    found = build(runtime_config("torch", device), model.parent).detect(images, score_threshold=0.05)
    assert sum(len(rows) for rows in expected) > 0
    for ours, theirs in zip(found, expected, strict=True):
        assert ours.shape == theirs.shape
        ours, theirs = sorted_rows(ours), sorted_rows(theirs)
        np.testing.assert_allclose(ours[:, :4], theirs[:, :4], atol=BOX_TOLERANCE)
        np.testing.assert_allclose(ours[:, 4:], theirs[:, 4:], atol=SCORE_TOLERANCE)


def test_a_graph_with_an_unknown_operator_fails_at_load(tmp_path: Path) -> None:
    node = helper.make_node("Tanh", ["x"], ["y"], name="squash")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(UnsupportedGraphError, match="operator Tanh .node 'squash'. has no torch implementation"):
        TorchSession(path)


def test_an_unknown_runtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="runtime must be one of .'onnxruntime', 'torch', 'triton'., got 'tensorflow'"):
        open_session(tmp_path / "model.onnx", SessionSettings(runtime="tensorflow"))


def fp16_config(device: str) -> dict:
    values = {"runtime": "torch", "runtime_device": device, "runtime_precision": "fp16", "session_batch": "4"}
    return {"parameters": {key: {"string_value": value} for key, value in values.items()}}


@needs_models
@pytest.mark.parametrize("device", DEVICES)
def test_fp16_autocast_finds_the_same_faces(device: str) -> None:
    """FP16 (the GPU repository's setting): the same faces at the served threshold, box sides within
    5 % of the face's size (measured on CPU: 4 px on a 90x118 px face; the blur margin is 30 %)."""
    images = [photo_pixels("astronaut.png"), photo_pixels("grace_hopper.jpg")]
    expected = configured_centerface(runtime_config("onnxruntime", "cpu"), FACES_MODEL.parent).detect(images)
    found = configured_centerface(fp16_config(device), FACES_MODEL.parent).detect(images)
    assert [len(rows) for rows in found] == [len(rows) for rows in expected] == [1, 1]
    for ours, theirs in zip(found, expected, strict=True):
        size = np.maximum(theirs[:, 2] - theirs[:, 0], theirs[:, 3] - theirs[:, 1])[:, None]
        assert (np.abs(ours[:, :4] - theirs[:, :4]) <= 0.05 * size).all()
        np.testing.assert_allclose(ours[:, 4], theirs[:, 4], atol=0.02)


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision must be one of .'fp32', 'fp16'., got 'int8'"):
        TorchSession(Path("unused.onnx"), precision="int8")


def test_cuda_means_the_instances_own_gpu() -> None:
    from python_models.model_config import with_instance_device

    config = {"name": "faces", "parameters": {"runtime_device": {"string_value": "cuda"}, "torch_device": {"string_value": "cuda:3"},
                                              "session_batch": {"string_value": "16"}}}
    on_gpu_2 = with_instance_device(config, {"model_instance_kind": "GPU", "model_instance_device_id": "2"})
    assert on_gpu_2["parameters"]["runtime_device"] == {"string_value": "cuda:2"}
    assert on_gpu_2["parameters"]["torch_device"] == {"string_value": "cuda:3"}  # named explicitly: kept
    assert on_gpu_2["parameters"]["session_batch"] == {"string_value": "16"}
    assert config["parameters"]["runtime_device"] == {"string_value": "cuda"}  # the input is not changed
    assert with_instance_device(config, {"model_instance_kind": "CPU", "model_instance_device_id": "0"}) is config
