"""Which classes the served detectors can blur: from each model's served version in the repository.

A detector version carries `labels.json` (written by export/; names standardised by
`python_models.classes`); a model without one (the face model) names its class in config.pbtxt's
`class_name` parameter. What `blur_classes` may name is the union.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from python_models.classes import standard_class_name
from triton_launcher.repository import ModelRepository

logger = logging.getLogger(__name__)

LABELS_FILE = "labels.json"
CLASS_NAME_PARAMETER = "class_name"


def model_classes(repository: ModelRepository, model: str, version: int) -> list[str]:
    """Sorted standard class names of ``model`` version ``version``; [] for a model that detects nothing."""
    labels = repository.root / model / str(version) / LABELS_FILE
    if labels.is_file():
        try:
            names = json.loads(labels.read_text(encoding="utf-8")).values()
        except (OSError, ValueError, AttributeError) as error:
            logger.warning("unreadable %s: %s", labels, error)
            return []
        return sorted({standard_class_name(str(name)) for name in names})
    try:
        parameter = repository.config(model).parameters.get(CLASS_NAME_PARAMETER)
    except Exception as error:  # noqa: BLE001 - a model whose config cannot be read lists no classes
        logger.warning("cannot read the config of %s: %s", model, error)
        return []
    return [parameter.string_value] if parameter is not None and parameter.string_value else []


def served_classes(repository: ModelRepository, models: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    """{model: classes} for every model with a ready version (``models``: /v1/models entries, with
    `name` and `ready`), from its newest ready version."""
    classes = {}
    for status in models:
        if status["ready"]:
            found = model_classes(repository, status["name"], max(status["ready"]))
            if found:
                classes[status["name"]] = found
    return classes
