"""`labels.json` beside a detector: a JSON object mapping class ids (as strings) to class names."""

from __future__ import annotations

import json
from pathlib import Path

from export.errors import ModelValidationError
from export.yolo import ClassNames
from python_models.classes import standard_class_names

LABELS_FILE = "labels.json"


def write_labels(path: Path, class_names: ClassNames) -> None:
    """Write `{"0": "person", "1": "person"}`-style labels, ordered by class id.

    Names are the standard ones (`python_models.classes.standard_class_name`): the fall
    detector's `Normal` and `Fall` become `person`, `License_Plate` becomes `license_plate`.
    """
    standard = standard_class_names(class_names)
    labels = {str(index): standard[index] for index in sorted(standard)}
    path.write_text(json.dumps(labels, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_labels(path: Path) -> ClassNames:
    """Read labels written by `write_labels`; raise `ModelValidationError` if malformed."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelValidationError(f"cannot read labels {path}: {error}") from error
    if not isinstance(raw, dict) or not all(_is_label(key, value) for key, value in raw.items()):
        raise ModelValidationError(f"{path} must map class ids like \"0\" to names")
    labels = {int(key): value for key, value in raw.items()}
    if sorted(labels) != list(range(len(labels))):
        raise ModelValidationError(f"{path} class ids must be 0..{len(labels) - 1}, got {sorted(labels)}")
    return labels


def _is_label(key: object, value: object) -> bool:
    return isinstance(key, str) and key.isdigit() and isinstance(value, str) and bool(value)
