"""`labels.json` beside a detector: a JSON object mapping class ids (as strings) to class names."""

from __future__ import annotations

import json
from pathlib import Path

from export.errors import ModelValidationError
from export.yolo import ClassNames

LABELS_FILE = "labels.json"


def write_labels(path: Path, class_names: ClassNames) -> None:
    """Write `{"0": "Normal", "1": "Fall"}`-style labels, ordered by class id."""
    labels = {str(index): class_names[index] for index in sorted(class_names)}
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
