from __future__ import annotations

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
from python_models.detections import (
    DetectionPlan,
    DetectorSettings,
    describe_rows,
    detector_record,
    plan_request,
    request_threshold,
    run_plans,
    should_run,
)

PLATES = DetectorSettings("plates", "1", {0: "license_plate"}, threshold=0.25, floor=0.1, threshold_parameter="plate_threshold")
PEOPLE = DetectorSettings("detect", "2", {0: "person", 1: "person"}, threshold=0.25, floor=0.15, run_when="requested")


def test_request_threshold_defaults_to_the_configured_one_and_must_be_a_score() -> None:
    assert request_threshold({}, PLATES) == 0.25
    assert request_threshold({"plate_threshold": "0.6"}, PLATES) == 0.6
    assert request_threshold({"plate_threshold": 0.05}, PLATES) == 0.05
    assert request_threshold({"plate_threshold": "0.6"}, PEOPLE) == 0.25, "not this detector's parameter"
    for bad in ("0", "1.5", "high"):
        with pytest.raises(InvalidOptionError, match=r"plate_threshold must"):
            request_threshold({"plate_threshold": bad}, PLATES)


def test_plans_run_at_the_floor_or_a_lower_requested_threshold_one_call_per_kind() -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    plans = [
        plan_request({}, [image, image], PLATES),
        plan_request({"plate_threshold": "0.9"}, [image], PLATES),
        plan_request({"plate_threshold": "0.05", "thorough": "true"}, [image], PLATES),
        plan_request({}, [image], PEOPLE),
    ]
    assert [plan.run_threshold(PLATES.floor) for plan in plans[:3]] == [0.1, 0.1, 0.05]
    calls = []

    def detect(images: list, *, score_threshold: float, thorough: bool) -> list:
        calls.append((len(images), score_threshold, thorough))
        return [np.full((1, 6), score_threshold, np.float32) for _ in images]

    results = run_plans(detect, plans, PLATES.floor)
    assert calls == [(3, 0.1, False), (1, 0.05, True)]
    assert [None if rows is None else len(rows) for rows in results] == [2, 1, 1, None]
    with pytest.raises(InvalidOptionError, match="thorough"):
        plan_request({"thorough": "very"}, [image], PLATES)
    assert DetectionPlan([image], 0.5, run=True, thorough=False).run_threshold(0.3) == 0.3


def test_a_requested_detector_runs_only_for_its_classes() -> None:
    assert should_run({}, PLATES) and should_run({"blur_classes": "person"}, PLATES)
    assert not should_run({}, PEOPLE) and not should_run({"blur_classes": "license_plate"}, PEOPLE)
    assert should_run({"blur_classes": "license_plate, person"}, PEOPLE)


def test_rows_name_their_detector_and_are_uncertain_below_the_threshold() -> None:
    rows = np.array([[1, 2, 30, 40, 0.9, 0], [5, 5, 9, 9, 0.2, 1]], np.float32)
    described = describe_rows(rows, 0.25, PEOPLE)
    assert described[0] == {"box": [1.0, 2.0, 30.0, 40.0], "score": 0.9, "class_id": 0, "class_name": "person",
                            "detector": "detect", "version": "2", "uncertain": False}
    assert described[1]["uncertain"] is True
    faces = DetectorSettings("faces", "1", {0: "face"}, threshold=0.5, floor=0.3)
    assert "class_id" not in describe_rows(rows[:, :5], 0.5, faces)[0]


def test_a_skipped_detector_says_so_and_lists_its_classes() -> None:
    record = detector_record(PEOPLE, None, 0.25, "detections")
    assert record == {"model": "detect", "version": "2", "classes": ["person"], "threshold": 0.25, "floor": 0.15,
                      "skipped": True, "passes": [], "detections": []}
    passes = [{"kind": "whole", "scale": 0.5, "count": 1, "rotations": [0]}]
    assert detector_record(PEOPLE, np.zeros((0, 6)), 0.25, "detections", passes)["passes"] == passes


def test_settings_refuse_a_floor_above_the_threshold() -> None:
    with pytest.raises(ValueError, match="floor"):
        DetectorSettings("x", "1", {}, threshold=0.2, floor=0.3)
    with pytest.raises(ValueError, match="run_when"):
        DetectorSettings("x", "1", {}, threshold=0.2, floor=0.1, run_when="sometimes")
