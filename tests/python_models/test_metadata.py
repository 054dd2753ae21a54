from __future__ import annotations

import numpy as np

from python_models.metadata import blur_plan, blur_targets, image_metadata, target_boxes
from python_models.options import BlurOptions

DETECTIONS = {
    "version": "2",
    "detections": [
        {"box": [10, 10, 50, 90], "score": 0.9, "class_id": 0, "class_name": "person"},
        {"box": [60, 60, 80, 70], "score": 0.8, "class_id": 5, "class_name": "plate"},
    ],
}
FACES = {"version": "1", "faces": [{"box": [20, 12, 30, 25], "score": 0.95}]}


def test_targets_are_faces_plus_listed_classes() -> None:
    targets = blur_targets(DETECTIONS, FACES, BlurOptions(classes=frozenset({"plate"})))
    assert targets == [{"box": [20, 12, 30, 25], "source": "face"}, {"box": [60, 60, 80, 70], "source": "plate"}]
    assert blur_targets(DETECTIONS, FACES, BlurOptions()) == targets[:1]


def test_target_boxes_grow_by_margin_within_the_image() -> None:
    boxes = target_boxes([{"box": [0, 0, 10, 20], "source": "face"}], margin=0.1, width=100, height=100)
    assert boxes.shape == (1, 4)
    assert boxes[0, 0] == 0 and boxes[0, 2] > 10 and boxes[0, 3] > 20
    assert target_boxes([], 0.1, 100, 100).shape == (0, 4)


def test_blurred_records_name_the_region_actually_blurred() -> None:
    boxes, records = blur_plan(DETECTIONS, FACES, BlurOptions(classes=frozenset({"plate"}), margin=0.1), 100, 100)
    assert [record["box"] for record in records] == [[round(float(value), 1) for value in box] for box in boxes]
    assert records[0] == {"box": [19.5, 11.4, 30.5, 25.6], "source": "face", "detected_box": [20, 12, 30, 25]}
    assert records[1]["source"] == "plate" and records[1]["detected_box"] == [60, 60, 80, 70]


def test_metadata_records_versions_of_every_step() -> None:
    info = {"width": 100, "height": 90, "format": "jpeg", "decoder": "x", "versions": {"decode": "1"}}
    blur = {"kind": "gaussian", "strength": 1.0, "versions": {"blur": "3"}}
    metadata = image_metadata(info, DETECTIONS, FACES, [], blur)
    assert metadata["versions"] == {"decode": "1", "detect": "2", "faces": "1", "blur": "3"}
    assert metadata["blur"] == {"kind": "gaussian", "strength": 1.0}
    assert np.array(metadata["detections"][0]["box"]).tolist() == [10, 10, 50, 90]
