"""The `pipeline` ensemble end to end on the real tritonserver with real photos."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from tests.photos import photo_bytes, photo_pixels
from tests.server.client import decode_reference, run_pipeline

pytestmark = pytest.mark.server

# photo -> faces a person sees in it
FACES = {"zidane.jpg": 2, "bus.jpg": 2, "astronaut.png": 1, "grace_hopper.jpg": 1, "nemo.jp2": 0}
# The promise (faces config `min_size`): faces at least this tall are found. Smaller boxes are
# blurred too (nemo.jp2's fish give one of 14x19 px at 0.59) but are not counted as faces here.
PROMISED_FACE_PX = 40


def promised_faces(metadata: dict) -> list[dict]:
    return [face for face in metadata["faces"] if not face["uncertain"] and face["box"][3] - face["box"][1] >= PROMISED_FACE_PX]


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


def box_mask(shape: tuple[int, ...], boxes: list[list[float]], grow: int) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=bool)
    for x1, y1, x2, y2 in boxes:
        mask[max(0, int(y1) - grow) : int(y2) + grow + 1, max(0, int(x1) - grow) : int(x2) + grow + 1] = True
    return mask


@pytest.mark.parametrize("name", list(FACES))
def test_faces_blurred_and_rest_untouched(client: grpcclient.InferenceServerClient, name: str) -> None:
    original = photo_pixels(name)
    [(result, metadata)] = run_pipeline(client, [photo_bytes(name)], format="png")
    assert (metadata["width"], metadata["height"]) == (original.shape[1], original.shape[0])
    assert len(promised_faces(metadata)) == FACES[name]
    face_regions = [region for region in metadata["blurred"] if region["source"] == "face"]
    assert len(face_regions) == len(metadata["faces"]), "every face found is blurred, small and uncertain ones too"
    assert {region["source"] for region in metadata["blurred"]} <= {"face", "license_plate"}
    processed = decode_reference(result)
    assert processed.shape == original.shape
    difference = np.abs(processed.astype(np.int16) - original.astype(np.int16)).max(axis=2)
    for region in metadata["blurred"]:
        x1, y1, x2, y2 = (int(value) for value in region["box"])
        assert difference[y1:y2, x1:x2].mean() > 3, f"face at {region['box']} not blurred"
    far = ~box_mask(original.shape, [region["box"] for region in metadata["blurred"]], grow=64)
    # JPEG decoders may round differently by a level or two; blurring changes far more.
    assert difference[far].max() <= 4


def test_metadata_contract(client: grpcclient.InferenceServerClient) -> None:
    [(_, metadata)] = run_pipeline(client, [photo_bytes("bus.jpg")], blur_classes="person")
    people = [found for found in metadata["detections"] if found["class_name"] == "person"]
    assert len(people) >= 3
    for found in metadata["detections"]:
        x1, y1, x2, y2 = found["box"]
        assert 0 <= x1 < x2 <= metadata["width"] and 0 <= y1 < y2 <= metadata["height"]
        assert 0 < found["score"] <= 1 and isinstance(found["class_id"], int)
    assert set(metadata["versions"]) == {"decode", "detect", "plates", "faces", "blur", "encode"}
    assert all(found["detector"] in {"detect", "plates"} and found["version"] == metadata["versions"][found["detector"]]
               for found in metadata["detections"])
    assert metadata["output"]["format"] == "jpeg"
    assert metadata["decoder"].startswith("nvimgcodec") and metadata["output"]["encoder"].startswith("nvimgcodec")


def test_blur_classes_adds_detections_to_blurred(client: grpcclient.InferenceServerClient) -> None:
    [(_, metadata)] = run_pipeline(client, [photo_bytes("bus.jpg")], blur_classes="person", blur_kind="pixelate")
    sources = [region["source"] for region in metadata["blurred"]]
    assert len(promised_faces(metadata)) == 2
    assert sources.count("face") == len(metadata["faces"]), "every face found, uncertain or small, is blurred"
    assert sources.count("person") >= 3
    assert metadata["blur"]["kind"] == "pixelate"


def test_batch_of_n_returns_n_in_order(client: grpcclient.InferenceServerClient) -> None:
    names = ["zidane.jpg", "astronaut.png", "bus.jpg", "grace_hopper.jpg", "astronaut.png"]
    answers = run_pipeline(client, [photo_bytes(name) for name in names])
    assert len(answers) == len(names)
    for name, (result, metadata) in zip(names, answers, strict=True):
        height, width = photo_pixels(name).shape[:2]
        assert (metadata["width"], metadata["height"]) == (width, height)
        assert len(promised_faces(metadata)) == FACES[name]
        assert decode_reference(result).shape == (height, width, 3)


@pytest.mark.parametrize(
    ("name", "parameters", "expected"),
    [
        ("zidane.jpg", {}, "jpeg"),
        ("astronaut.png", {}, "png"),
        ("nemo.jp2", {}, "jp2"),
        ("zidane.jpg", {"format": "png"}, "png"),
        ("astronaut.png", {"format": "jp2", "lossless": True}, "jp2"),
        ("astronaut.png", {"format": "webp", "quality": 80}, "webp"),
    ],
)
def test_output_format(client: grpcclient.InferenceServerClient, name: str, parameters: dict, expected: str) -> None:
    from imaging.formats import sniff_format

    [(result, metadata)] = run_pipeline(client, [photo_bytes(name)], **parameters)
    assert metadata["output"]["format"] == expected
    assert sniff_format(result) == expected
