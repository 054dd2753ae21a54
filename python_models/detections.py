"""What a detector model answers for one image: its rows as JSON, thresholds, uncertainty, skipping.

Plain Python over numpy (no Triton): the `detect`, `plates` and `faces` adapters turn detector
rows into these records, and `blur` / `process` read them.

Detectors run at a low ``floor`` score. A row scoring below the request's threshold (the
request parameter named by ``threshold_parameter``, e.g. `plate_threshold`, else the configured
``threshold``) but at least the floor is kept and marked ``uncertain``: blurred by default,
counted in METADATA. A detector whose ``run_when`` is ``requested`` (the person detector) runs
only when the request's `blur_classes` names one of its classes; otherwise its record says
``skipped`` and no ONNX session runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from imaging.errors import InvalidOptionError
from python_models.options import parse_class_list

RUN_WHEN = ("always", "requested")


@dataclass(frozen=True)
class DetectorSettings:
    """One served detector: its name and version, classes, thresholds and when it runs.

    ``class_names`` maps class ids to standard names; ``threshold`` and ``floor`` are scores in
    0..1 with floor <= threshold; ``threshold_parameter`` is the request parameter that overrides
    ``threshold`` ("" for none); ``run_when`` is one of RUN_WHEN.
    """

    model: str
    version: str
    class_names: Mapping[int, str]
    threshold: float
    floor: float
    threshold_parameter: str = ""
    run_when: str = "always"

    def __post_init__(self) -> None:
        if not 0 < self.floor <= self.threshold <= 1:
            raise ValueError(f"{self.model}: need 0 < floor ({self.floor}) <= threshold ({self.threshold}) <= 1")
        if self.run_when not in RUN_WHEN:
            raise ValueError(f"{self.model}: run_when must be one of {RUN_WHEN}, got {self.run_when!r}")

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.class_names.values()))


def request_threshold(parameters: Mapping[str, object], settings: DetectorSettings) -> float:
    """The score below which this request calls a row uncertain; `invalid_option` if out of [floor, 1]."""
    name = settings.threshold_parameter
    if not name or parameters.get(name) is None:
        return settings.threshold
    raw = parameters[name]
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidOptionError(f"{name} must be a number, got {raw!r}") from None
    if not settings.floor <= value <= 1:
        raise InvalidOptionError(
            f"{name} must lie between {settings.floor} ({settings.model}'s floor_threshold) and 1, got {raw!r}"
        )
    return value


def should_run(parameters: Mapping[str, object], settings: DetectorSettings) -> bool:
    """Whether the detector runs for this request (`run_when` always, or a requested class of its own)."""
    if settings.run_when == "always":
        return True
    requested = parse_class_list(str(parameters.get("blur_classes") or ""))
    return bool(requested & set(settings.class_names.values()))


def describe_rows(rows: np.ndarray, threshold: float, settings: DetectorSettings) -> list[dict[str, Any]]:
    """[k, 5] (x1, y1, x2, y2, score) or [k, 6] (+ class_id) rows, in original pixels, as JSON rows.

    Each row names its detector and version; ``uncertain`` is true below ``threshold``. Rows
    without a class column are faces.
    """
    described = []
    for row in rows:
        score = float(row[4])
        item: dict[str, Any] = {"box": [round(float(value), 1) for value in row[:4]], "score": round(score, 4)}
        if rows.shape[1] > 5:
            class_id = int(row[5])
            item |= {"class_id": class_id, "class_name": settings.class_names.get(class_id, str(class_id))}
        item |= {"detector": settings.model, "version": settings.version, "uncertain": score < threshold}
        described.append(item)
    return described


def detector_record(settings: DetectorSettings, rows: np.ndarray | None, threshold: float, key: str) -> dict[str, Any]:
    """One image's answer: {"model", "version", "classes", "threshold", "floor", "skipped", key: rows}.

    ``rows`` None means the detector was skipped for this request (no rows, ``skipped`` true).
    """
    return {
        "model": settings.model,
        "version": settings.version,
        "classes": settings.classes,
        "threshold": threshold,
        "floor": settings.floor,
        "skipped": rows is None,
        key: [] if rows is None else describe_rows(rows, threshold, settings),
    }
