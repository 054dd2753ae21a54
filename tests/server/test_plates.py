"""Licence plates, standard class names, thresholds and verification on the real tritonserver.

Plates are drawn with Pillow and pasted onto real photos (tests/plate_scenes.py); the `plates`
model (safelicensing's detector exported by export/) must find them and `blur` must change the
pixels inside each one, by default, in `pipeline` and in `process`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from tests.photos import photo_bytes
from tests.plate_scenes import PlateScene, bus_with_plates, zidane_with_plate
from tests.server.client import decode_reference, image_input, outputs, reply_metadata, run_pipeline

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


def overlap(box: list[float], other: tuple[int, int, int, int]) -> float:
    """Intersection over the area of ``other``."""
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    return max(0.0, width) * max(0.0, height) / ((other[2] - other[0]) * (other[3] - other[1]))


def assert_plates_blurred(scene: PlateScene, result: bytes, metadata: dict) -> None:
    plates = [region for region in metadata["blurred"] if region["source"] == "license_plate"]
    processed = decode_reference(result).astype(np.int16)
    for x1, y1, x2, y2 in scene.boxes:
        assert any(overlap(region["box"], (x1, y1, x2, y2)) > 0.9 for region in plates), f"plate {(x1, y1, x2, y2)} not blurred"
        changed = np.abs(processed[y1:y2, x1:x2] - scene.pixels[y1:y2, x1:x2].astype(np.int16)).mean()
        assert changed > 20, f"pixels inside the plate at {(x1, y1, x2, y2)} changed by only {changed:.1f} on average"


@pytest.mark.parametrize("make_scene", [bus_with_plates, zidane_with_plate], ids=["bus-3-plates", "zidane-1-plate"])
def test_plates_are_found_and_blurred_by_default(client: grpcclient.InferenceServerClient, make_scene: object) -> None:
    scene = make_scene()
    [(result, metadata)] = run_pipeline(client, [scene.png()], format="png")
    assert_plates_blurred(scene, result, metadata)
    plates = [found for found in metadata["detections"] if found["detector"] == "plates"]
    assert {(found["class_name"], found["version"]) for found in plates} == {("license_plate", metadata["versions"]["plates"])}
    assert sum(not found["uncertain"] for found in plates) >= len(scene.boxes)


def test_the_person_detector_runs_only_when_its_class_is_asked_for(client: grpcclient.InferenceServerClient) -> None:
    [(_, default)], [(_, asked)] = (run_pipeline(client, [photo_bytes("bus.jpg")], **extra) for extra in ({}, {"blur_classes": "person"}))
    assert {item["model"]: item["skipped"] for item in default["detectors"]} == {"detect": True, "plates": False, "faces": False}
    assert not [found for found in default["detections"] if found["class_name"] == "person"]
    assert {item["model"]: item["skipped"] for item in asked["detectors"]}["detect"] is False
    people = [region for region in asked["blurred"] if region["source"] == "person"]
    assert len(people) >= 3 and all(found["detector"] == "detect" for found in asked["detections"] if found["class_name"] == "person")


PROCESS_CARS = {"operations": json.dumps([{"op": "anonymize", "blur_classes": "person,car"}])}


@pytest.mark.parametrize(("model", "parameters"), [("pipeline", {"blur_classes": "person,car"}), ("process", PROCESS_CARS)])
def test_a_class_no_detector_has_is_refused_listing_the_available_ones(
    client: grpcclient.InferenceServerClient, model: str, parameters: dict
) -> None:
    with pytest.raises(InferenceServerException, match=r"invalid_option: .*blur_classes names car, which no served detector has; available: face, license_plate, person"):
        client.infer(model, [image_input([photo_bytes("zidane.jpg")])], outputs=outputs(), parameters=parameters)
    [(_, metadata)] = run_pipeline(client, [photo_bytes("zidane.jpg")])  # still serving
    assert len(metadata["faces"]) >= 2


def test_faces_below_the_requested_threshold_are_blurred_and_reported_uncertain(client: grpcclient.InferenceServerClient) -> None:
    [(_, strict)] = run_pipeline(client, [photo_bytes("zidane.jpg")], face_threshold="0.99")
    assert len(strict["faces"]) >= 2 and all(face["uncertain"] for face in strict["faces"])
    assert [region["source"] for region in strict["blurred"]].count("face") == len(strict["faces"])
    assert strict["uncertain"] >= 2
    [(_, opted_out)] = run_pipeline(client, [photo_bytes("zidane.jpg")], face_threshold="0.99", blur_uncertain="false")
    assert not [region for region in opted_out["blurred"] if region["source"] == "face"]
    with pytest.raises(InferenceServerException, match=r"invalid_option: face_threshold must be a score in \(0, 1\], got '0'"):
        run_pipeline(client, [photo_bytes("zidane.jpg")], face_threshold="0")


def test_metadata_names_the_passes_each_detector_ran(client: grpcclient.InferenceServerClient) -> None:
    [(_, plain)], [(_, thorough)] = (run_pipeline(client, [photo_bytes("zidane.jpg")], **extra) for extra in ({}, {"thorough": "true"}))
    passes = {item["model"]: item["passes"] for item in plain["detectors"]}
    assert passes["detect"] == [] and passes["plates"] and passes["faces"]
    assert all(item["rotations"] == [0] for item in passes["faces"])
    turned = {item["model"]: item["passes"] for item in thorough["detectors"]}
    assert all(item["rotations"] == [0, 90, 180, 270] for item in turned["faces"] + turned["plates"])


def test_verify_blurs_what_a_too_weak_blur_left_recognisable(client: grpcclient.InferenceServerClient) -> None:
    scene = bus_with_plates()
    [(_, default)] = run_pipeline(client, [scene.png()], format="png")
    assert "residual" not in default
    [(_, weak)] = run_pipeline(client, [scene.png()], format="png", blur_strength="0.02", blur_kind="box")
    assert weak["residual"] > 0, "a blur weaker than the default is verified without being asked"
    [(result, verified)] = run_pipeline(client, [scene.png()], format="png", blur_strength="0.02", blur_kind="box", verify="true")
    residual = [region for region in verified["blurred"] if region.get("residual")]
    assert verified["residual"] == len(residual) > 0
    assert set(verified["verify"]) == {"faces", "plates"}
    assert_plates_blurred(scene, result, verified)
    processed = decode_reference(result).astype(np.int16)
    for region in residual:  # blurred again with a Gaussian of at least strength 2, not the weak box
        x1, y1, x2, y2 = (int(value) for value in region["detected_box"])
        changed = np.abs(processed[y1:y2, x1:x2] - scene.pixels[y1:y2, x1:x2].astype(np.int16)).mean()
        assert changed > 8, f"residual {region['source']} at {(x1, y1, x2, y2)} changed by only {changed:.1f}"


def test_bilateral_is_refused_for_faces_and_plates(client: grpcclient.InferenceServerClient) -> None:
    """Edge-preserving: at the default strength it left eyes and mouth readable with 200."""
    with pytest.raises(InferenceServerException, match="bilateral is edge-preserving and leaves faces recognisable"):
        run_pipeline(client, [photo_bytes("zidane.jpg")], blur_kind="bilateral")


def test_process_anonymize_blurs_plates(client: grpcclient.InferenceServerClient) -> None:
    scene = zidane_with_plate()
    parameters = {"operations": json.dumps([{"op": "anonymize"}, {"op": "format", "format": "png"}])}
    reply = client.infer("process", [image_input([scene.png()])], outputs=outputs(), parameters=parameters)
    [metadata] = reply_metadata("process", reply)
    [record] = metadata["outputs"][0]["anonymized"]
    assert_plates_blurred(scene, bytes(reply.as_numpy("RESULT")[0, 0]), record)
    assert {item["model"] for item in record["detectors"]} == {"detect", "plates", "faces"}
    assert set(metadata["versions"]) >= {"process", "detect", "plates", "faces"}


def test_process_verify_counts_and_blurs_the_residual(client: grpcclient.InferenceServerClient) -> None:
    scene = bus_with_plates()
    chain = [{"op": "anonymize", "blur_kind": "box", "blur_strength": 0.02}, {"op": "format", "format": "png"}]
    parameters = {"operations": json.dumps(chain), "verify": "true"}
    reply = client.infer("process", [image_input([scene.png()])], outputs=outputs(), parameters=parameters)
    [metadata] = reply_metadata("process", reply)
    [record] = metadata["outputs"][0]["anonymized"]
    assert record["residual"] == sum(1 for region in record["blurred"] if region.get("residual")) > 0
    assert_plates_blurred(scene, bytes(reply.as_numpy("RESULT")[0, 0]), record)
