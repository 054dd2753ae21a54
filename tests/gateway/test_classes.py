"""Detector classes through the gateway, over real HTTP in front of the real Triton: the classes
listing, a blur_classes naming no served class (422 listing the available ones), plates blurred by
default, and the fail-closed options (thresholds, blur_uncertain, verify) reaching Triton."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import REPOSITORY
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.photos import photo_bytes
from tests.plate_scenes import zidane_with_plate

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any) -> RunningGateway:
    return gateway_factory(triton_url=triton_server.grpc_url, model_repository=REPOSITORY)


def test_classes_are_listed_by_model_and_in_the_models_listing(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        classes = client.get("/v1/classes")
        models = client.get("/v1/models")
    assert classes.status_code == 200 and models.status_code == 200, (classes.text, models.text)
    assert classes.json() == {
        "classes": ["face", "license_plate", "person"],
        "models": {"detect": ["person"], "faces": ["face"], "plates": ["license_plate"]},
    }
    listed = {entry["name"]: entry["classes"] for entry in models.json()["models"]}
    assert listed["plates"] == ["license_plate"] and listed["detect"] == ["person"] and listed["encode"] == []


def test_an_unknown_class_is_a_422_naming_the_available_ones(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("z.jpg", photo_bytes("zidane.jpg"))},
                            data={"options": json.dumps({"blur_classes": ["person", "car"]})})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == "invalid_option"
    assert "blur_classes names car" in reply.json()["detail"] and "available: face, license_plate, person" in reply.json()["detail"]


def test_plates_are_blurred_and_fail_closed_options_reach_triton(gateway: RunningGateway) -> None:
    options = {"face_threshold": 0.9, "plate_threshold": 0.3, "blur_uncertain": True, "verify": True}
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("plate.png", zidane_with_plate().png())},
                            data={"options": json.dumps(options)})
    assert reply.status_code == 200, reply.text
    metadata = json.loads(reply.headers["X-Metadata"])
    assert [region["source"] for region in metadata["blurred"]].count("license_plate") >= 1
    detectors = {item["model"]: item for item in metadata["detectors"]}
    assert (detectors["faces"]["threshold"], detectors["plates"]["threshold"], detectors["detect"]["skipped"]) == (0.9, 0.3, True)
    assert isinstance(metadata["residual"], int)
