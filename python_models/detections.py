"""What a detector model answers for one image: its rows as JSON, thresholds, uncertainty, skipping.

Plain Python over numpy (no Triton): the `detect`, `plates` and `faces` adapters turn detector
rows into these records, and `blur` / `process` read them.

Detectors run at a low ``floor`` score. A row scoring below the request's threshold (the
request parameter named by ``threshold_parameter``, e.g. `plate_threshold`, else the configured
``threshold``) but at least the floor is kept and marked ``uncertain``: blurred by default,
counted in METADATA. A detector whose ``run_when`` is ``requested`` (the person detector) runs
only when the request's `blur_classes` names one of its classes; otherwise its record says
``skipped`` and no ONNX session runs. A request's threshold below the floor lowers the score the
detector runs at for that request; `thorough` adds the rotated passes (python_models.detectors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from contracts import parameters as names
from imaging.errors import InvalidOptionError
from python_models.batching import split_counts
from python_models.options import parse_boolean, parse_class_list

RUN_WHEN = ("always", "requested")
DETECTION_PARAMETERS = names.DETECTION
"""Request parameters the detector models read: what a BLS caller passes on to them."""


def detection_parameters(parameters: Mapping[str, object]) -> dict[str, str]:
    """The request's DETECTION_PARAMETERS as the strings a BLS call to a detector passes on."""
    return {key: str(value) for key, value in parameters.items() if key in DETECTION_PARAMETERS}


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
    """The score below which this request calls a row uncertain; `invalid_option` if not in (0, 1]."""
    name = settings.threshold_parameter
    if not name or parameters.get(name) is None:
        return settings.threshold
    raw = parameters[name]
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidOptionError(f"{name} must be a number, got {raw!r}") from None
    if not 0 < value <= 1:
        raise InvalidOptionError(f"{name} must be a score in (0, 1], got {raw!r}")
    return value


def should_run(parameters: Mapping[str, object], settings: DetectorSettings) -> bool:
    """Whether the detector runs for this request (`run_when` always, or a requested class of its own)."""
    if settings.run_when == "always":
        return True
    requested = parse_class_list(str(parameters.get(names.BLUR_CLASSES) or ""))
    return bool(requested & set(settings.class_names.values()))


@dataclass(frozen=True)
class DetectionPlan:
    """What one request asks of a detector: its images (HxWx3 uint8 RGB), the threshold for
    `uncertain`, whether the detector runs at all, and whether the rotated passes are added."""

    images: list[np.ndarray]
    threshold: float
    run: bool
    thorough: bool

    def run_threshold(self, floor: float) -> float:
        """The score the detector runs at: the floor, or the request's threshold if lower."""
        return min(floor, self.threshold)


def plan_request(parameters: Mapping[str, object], images: list[np.ndarray], settings: DetectorSettings) -> DetectionPlan:
    """A request's plan from its parameters (`face_threshold`/`plate_threshold`, `blur_classes`,
    `thorough`); `invalid_option` naming a bad one."""
    return DetectionPlan(
        images=images,
        threshold=request_threshold(parameters, settings),
        run=should_run(parameters, settings),
        thorough=parse_boolean(names.THOROUGH, parameters.get(names.THOROUGH, False)),
    )


Detect = Callable[..., list[np.ndarray]]
"""``detect(images, *, score_threshold, thorough)`` of python_models.detectors."""


def run_plans(detect: Detect, plans: Sequence[DetectionPlan], floor: float) -> list[list[np.ndarray] | None]:
    """Per plan, its images' rows (None for a plan that does not run), with one ``detect`` call per
    distinct (run threshold, thorough) among the plans: usually one for the whole batch."""
    groups: dict[tuple[float, bool], list[int]] = {}
    for index, plan in enumerate(plans):
        if plan.run:
            groups.setdefault((plan.run_threshold(floor), plan.thorough), []).append(index)
    results: list[list[np.ndarray] | None] = [None] * len(plans)
    for (threshold, thorough), indices in groups.items():
        found = detect([image for index in indices for image in plans[index].images], score_threshold=threshold, thorough=thorough)
        for index, rows in zip(indices, split_counts(found, [len(plans[index].images) for index in indices]), strict=True):
            results[index] = rows
    return results


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


def detector_record(
    settings: DetectorSettings, rows: np.ndarray | None, threshold: float, key: str, passes: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """One image's answer: {"model", "version", "classes", "threshold", "floor", "skipped",
    "passes", key: rows}; ``passes`` as python_models.detectors' ``passes_for`` describes them.

    ``rows`` None means the detector was skipped for this request (no rows, no passes, ``skipped`` true).
    """
    return {
        "model": settings.model,
        "version": settings.version,
        "classes": settings.classes,
        "threshold": threshold,
        "floor": settings.floor,
        "skipped": rows is None,
        "passes": [] if rows is None else list(passes),
        key: [] if rows is None else describe_rows(rows, threshold, settings),
    }
