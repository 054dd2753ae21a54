"""What one benchmark run found: measurements of every system, the limit, splits, priorities."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perf.limit import Limit
from perf.load import StreamResult
from perf.perf_analyzer import PerfAnalyzerRow
from perf.profile import StubProfile
from perf.triton_stats import ModelSplit

# The systems compared, as they appear in tables and in the plot legend.
BASELINE = "baseline (FastAPI in-process, REST)"
GATEWAY = "gateway -> Triton (REST)"
DIRECT = "Triton direct (gRPC)"
ANALYZER = "Triton direct (gRPC, perf_analyzer)"
BATCHING_OFF = "Triton, batching off (gRPC, perf_analyzer)"
ENSEMBLE = "pipeline"  # the model the systems are compared on
BATCHING_OFF_VARIANT = "batching off"  # model runs on that server are named "<model> (batching off)"
WHAT_IF = "Triton, what-if"  # + the overrides, e.g. "Triton, what-if: detect.intra_op_threads=1"

LIMIT = "limit: ONNX Runtime alone, no server"

ASYNC_CLIENT = "asyncio client"
PERF_ANALYZER = "perf_analyzer"


@dataclass(frozen=True)
class Measurement:
    """One system at one size and concurrency."""

    system: str
    size: str
    concurrency: int
    throughput: float  # images/s
    p50_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    errors: int
    tool: str
    others_cpu: float = math.nan  # share of all cores other processes used meanwhile (perf.machine)

    @classmethod
    def from_stream(cls, system: str, size: str, result: StreamResult) -> Measurement:
        p50, p90, p99 = percentiles_ms(result.latencies_s)
        return cls(system, size, result.concurrency, result.throughput, p50, p90, p99,
                   len(result.latencies_s), result.errors, ASYNC_CLIENT)

    @classmethod
    def from_analyzer(cls, system: str, size: str, row: PerfAnalyzerRow, window_s: float) -> Measurement:
        return cls(system, size, row.concurrency, row.throughput, row.p50_ms, row.p90_ms, row.p99_ms,
                   round(row.throughput * window_s), 0, PERF_ANALYZER)


    @classmethod
    def for_limit(cls, size: str, level: int, images_per_s: float, images: int) -> Measurement:
        """The ceiling measured next to the systems at ``level`` (it has no latency to speak of)."""
        return cls(LIMIT, size, level, images_per_s, math.nan, math.nan, math.nan, images, 0, "onnxruntime")


def percentiles_ms(latencies_s: list[float]) -> tuple[float, float, float]:
    if not latencies_s:
        return math.nan, math.nan, math.nan
    p50, p90, p99 = np.percentile(np.asarray(latencies_s) * 1000, [50, 90, 99])
    return float(p50), float(p90), float(p99)


@dataclass(frozen=True)
class ModelRun:
    """perf_analyzer on one model (a composing model alone, or the pipeline) at one level."""

    model: str
    size: str
    row: PerfAnalyzerRow
    splits: tuple[ModelSplit, ...]  # per-model statistics from Triton over the same run
    command: str

    @property
    def own_split(self) -> ModelSplit | None:
        """Triton's statistics of the model this run measured (not of the steps inside it)."""
        return next((split for split in self.splits if split.model == self.model), None)


@dataclass(frozen=True)
class PriorityResult:
    """Latency of one priority class while the other loads the server too."""

    scenario: str  # "priorities 1 vs 3" or "control: all priority 2"
    label: str  # "high" / "low"
    priority: int
    measurement: Measurement


@dataclass
class Results:
    """Everything the report and the plot are written from."""

    started: str
    command: str
    environment: dict[str, str]
    interval_s: float
    compare_size: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    others_cpu: float = math.nan  # share of all cores other processes used over the whole run
    elapsed_s: float = 0.0
    input_sizes: dict[str, str] = field(default_factory=dict)  # size -> "W x H, mean N kB JPEG"
    limit: Limit | None = None
    measurements: list[Measurement] = field(default_factory=list)
    model_runs: list[ModelRun] = field(default_factory=list)
    priorities: list[PriorityResult] = field(default_factory=list)
    profiles: list[StubProfile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def systems(self, known: Sequence[str]) -> list[str]:
        """The systems measured: ``known`` ones in that order, then any other (what-if variants)."""
        measured = list(dict.fromkeys(m.system for m in self.measurements))
        return [system for system in known if system in measured] + [system for system in measured if system not in known]

    def find(self, system: str, size: str, concurrency: int) -> Measurement | None:
        return next(
            (m for m in self.measurements if (m.system, m.size, m.concurrency) == (system, size, concurrency)), None
        )

    def series(self, system: str, size: str) -> list[Measurement]:
        return sorted((m for m in self.measurements if (m.system, m.size) == (system, size)), key=lambda m: m.concurrency)

    def limit_at(self, size: str, level: int) -> float:
        """The ceiling measured next to ``level``, else the batch sweep's best, else nan."""
        beside = self.find(LIMIT, size, level)
        if beside is not None:
            return beside.throughput
        return self.limit.best.images_per_s if self.limit is not None else math.nan

    def best(self, system: str, size: str) -> Measurement | None:
        return max(self.series(system, size), key=lambda m: m.throughput, default=None)
