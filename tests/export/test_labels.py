"""export.labels: labels.json beside the detector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export.errors import ModelValidationError
from export.labels import read_labels, write_labels


def test_round_trip_uses_string_ids_and_standard_names(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    write_labels(path, {1: "Fall", 0: "Normal"})
    assert json.loads(path.read_text()) == {"0": "person", "1": "person"}
    assert list(json.loads(path.read_text())) == ["0", "1"]
    assert read_labels(path) == {0: "person", 1: "person"}
    write_labels(path, {0: "License_Plate", 1: "traffic light", 2: "car"})
    assert read_labels(path) == {0: "license_plate", 1: "traffic light", 2: "car"}


@pytest.mark.parametrize(
    "content",
    ['["Normal", "Fall"]', '{"zero": "Normal"}', '{"0": ""}', '{"0": "Normal", "2": "Fall"}', "{not json"],
)
def test_malformed_labels_are_rejected(tmp_path: Path, content: str) -> None:
    path = tmp_path / "labels.json"
    path.write_text(content)
    with pytest.raises(ModelValidationError):
        read_labels(path)
