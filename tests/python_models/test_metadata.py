from __future__ import annotations

import numpy as np
import pytest

from contracts.metadata import BlurApplied
from imaging.errors import InvalidOptionError
from python_models.metadata import blur_plan, blur_targets, check_classes, image_metadata, residual_plan, target_boxes
from python_models.options import BlurOptions

PEOPLE = {
    "model": "detect",
    "version": "2",
    "classes": ["person"],
    "threshold": 0.25,
    "floor": 0.15,
    "skipped": False,
    "passes": [{"kind": "whole", "scale": 1.0, "count": 1, "rotations": [0]}],
    "detections": [{"box": [10, 10, 50, 90], "score": 0.9, "class_id": 0, "class_name": "person", "uncertain": False}],
}
PLATES = {
    "model": "plates",
    "version": "1",
    "classes": ["license_plate"],
    "threshold": 0.25,
    "floor": 0.1,
    "skipped": False,
    "passes": [],
    "detections": [
        {"box": [60, 60, 80, 70], "score": 0.8, "class_id": 0, "class_name": "license_plate", "uncertain": False},
        {"box": [5, 80, 25, 85], "score": 0.2, "class_id": 0, "class_name": "license_plate", "uncertain": True},
    ],
}
FACES = {"model": "faces", "version": "1", "threshold": 0.5, "floor": 0.3, "skipped": False, "passes": [],
         "faces": [{"box": [20, 12, 30, 25], "score": 0.95, "uncertain": False}]}
PLATES_ALWAYS = BlurOptions(always=frozenset({"license_plate"}))


def test_targets_are_faces_always_blurred_classes_and_listed_classes() -> None:
    targets = blur_targets([PEOPLE, PLATES], FACES, PLATES_ALWAYS)
    assert [target["source"] for target in targets] == ["face", "license_plate", "license_plate"]
    assert [target["uncertain"] for target in targets] == [False, False, True]
    listed = blur_targets([PEOPLE, PLATES], FACES, BlurOptions(classes=frozenset({"person"})))
    assert [target["source"] for target in listed] == ["face", "person"]


def test_uncertain_rows_are_blurred_unless_the_caller_says_not_to() -> None:
    kept = blur_targets([PLATES], FACES, BlurOptions(always=frozenset({"license_plate"}), blur_uncertain=False))
    assert [target["box"] for target in kept] == [[20, 12, 30, 25], [60, 60, 80, 70]]


def test_a_class_no_detector_has_is_refused_naming_the_available_ones() -> None:
    check_classes([PEOPLE, PLATES], BlurOptions(classes=frozenset({"person", "face", "license_plate"})))
    with pytest.raises(InvalidOptionError, match=r"blur_classes names car, which no served detector has; available: face, license_plate, person"):
        check_classes([PEOPLE, PLATES], BlurOptions(classes=frozenset({"car", "person"})))


def test_target_boxes_grow_by_margin_within_the_image() -> None:
    boxes = target_boxes([{"box": [0, 0, 10, 20], "source": "face"}], margin=0.1, width=100, height=100)
    assert boxes.shape == (1, 4)
    assert boxes[0, 0] == 0 and boxes[0, 2] > 10 and boxes[0, 3] > 20
    assert target_boxes([], 0.1, 100, 100).shape == (0, 4)


def test_blurred_records_name_the_region_actually_blurred() -> None:
    boxes, records = blur_plan([PLATES], FACES, BlurOptions(always=frozenset({"license_plate"}), margin=0.1), 100, 100)
    assert [record["box"] for record in records] == [[round(float(value), 1) for value in box] for box in boxes]
    assert records[0] == {"box": [19.5, 11.4, 30.5, 25.6], "source": "face", "detected_box": [20, 12, 30, 25], "uncertain": False}
    assert records[1]["source"] == "license_plate" and records[1]["detected_box"] == [60, 60, 80, 70]
    assert records[2]["uncertain"] is True


def test_residual_regions_include_uncertain_rows_and_say_residual() -> None:
    options = BlurOptions(always=frozenset({"license_plate"}), blur_uncertain=False)
    boxes, records = residual_plan([PLATES], FACES, options, 100, 100)
    assert len(boxes) == 3 and all(record["residual"] for record in records)


def test_metadata_records_versions_detectors_and_uncertain_rows() -> None:
    info = {"width": 100, "height": 90, "format": "jpeg", "decoder": "x", "versions": {"decode": "1"}}
    blur = BlurApplied(kind="gaussian", strength=1.0)
    metadata = image_metadata(info, [PEOPLE, {**PLATES, "detections": [], "skipped": True}], FACES, [], blur, "3")
    assert metadata["versions"] == {"decode": "1", "detect": "2", "plates": "1", "faces": "1", "blur": "3"}
    assert metadata["blur"] == {"kind": "gaussian", "strength": 1.0}
    assert np.array(metadata["detections"][0]["box"]).tolist() == [10, 10, 50, 90]
    assert [(item["model"], item["skipped"]) for item in metadata["detectors"]] == [("detect", False), ("plates", True), ("faces", False)]
    assert metadata["detectors"][0]["passes"] == PEOPLE["passes"]
    assert image_metadata(info, [PEOPLE, PLATES], FACES, [], blur, "3")["uncertain"] == 1
