"""Harness settings, and how the time budget becomes a measurement window."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from perf.errors import ConfigError
from perf.repository import Override
from triton_launcher.config import DEFAULT_REPOSITORY

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("limit", "baseline", "analyzer", "models", "gateway", "priority", "batching", "profile", "whatif")

# Seconds the harness spends outside measurement windows: photos, servers starting (x2),
# gateway and baseline starting, capturing step inputs, writing the report.
FIXED_OVERHEAD_S = 60.0
ANALYZER_START_S = 1.5  # perf_analyzer's own start (loading the input data) per level
DRAIN_S = 1.0  # a closed-loop level waits for its last requests
MODEL_WINDOW_SHARE = 0.5  # composing models alone get half-length windows: they are much faster
MIN_ANALYZER_WINDOW_S = 0.5  # shorter perf_analyzer windows often see no answer and fail the run
MIN_INTERVAL_S, MAX_INTERVAL_S = 0.5, 10.0


@dataclass(frozen=True)
class BenchConfig:
    budget_s: float = 720.0
    sizes: tuple[str, ...] = ("vga", "1080p", "4k")
    compare_size: str = "1080p"
    concurrency: tuple[int, ...] = (1, 2, 4, 8, 16)
    model_concurrency: tuple[int, ...] = (1, 8)
    out_dir: Path = ROOT / "perf" / "results"
    repository: Path = DEFAULT_REPOSITORY
    tools_dir: Path = ROOT / "var" / "tools"
    work_dir: Path = ROOT / "var" / "perf"
    skip: frozenset[str] = frozenset()
    interval_s: float | None = None  # overrides the one derived from the budget
    tag: str = ""  # hardware tag in file names; empty = derived (e.g. cpu2)
    what_if: tuple[Override, ...] = ()  # config overrides measured side by side (pipeline, compare size)

    def __post_init__(self) -> None:
        if not self.concurrency or min(self.concurrency) < 1:
            raise ConfigError(f"concurrency levels must be positive, got {self.concurrency}")
        if not self.model_concurrency or min(self.model_concurrency) < 1:
            raise ConfigError(f"model concurrency levels must be positive, got {self.model_concurrency}")
        if unknown := self.skip - set(PARTS):
            raise ConfigError(f"unknown parts to skip: {sorted(unknown)}; parts are {', '.join(PARTS)}")
        if self.compare_size not in self.sizes:
            raise ConfigError(f"compare size {self.compare_size!r} must be one of the sizes {self.sizes}")
        if self.budget_s <= 0:
            raise ConfigError(f"budget must be positive, got {self.budget_s}")

    def runs(self, part: str) -> bool:
        return part not in self.skip

    @property
    def max_concurrency(self) -> int:
        return max(self.concurrency)

    @property
    def limit_budget_s(self) -> float:
        """The limit's batch sweep (its measurements beside the systems are windows like theirs)."""
        return min(30.0, max(3.0, 0.03 * self.budget_s))

    def window_units(self) -> tuple[float, float]:
        """(measurement windows, seconds of per-level overhead) of a full run, for the budget split."""
        levels, sizes = len(self.concurrency), len(self.sizes)
        windows = overhead = 0.0
        if self.runs("analyzer"):
            windows, overhead = windows + 3 * levels * sizes, overhead + ANALYZER_START_S * levels * sizes
        if self.runs("models"):
            model_levels = 5 * len(self.model_concurrency) * sizes
            windows, overhead = windows + 3 * MODEL_WINDOW_SHARE * model_levels, overhead + ANALYZER_START_S * model_levels
        closed_loop_systems = sum(self.runs(part) for part in ("baseline", "gateway", "limit")) + 1  # + direct gRPC
        windows, overhead = windows + 4 * levels * closed_loop_systems, overhead + DRAIN_S * levels * closed_loop_systems
        if self.runs("batching"):
            windows, overhead = windows + 3 * levels, overhead + ANALYZER_START_S * levels
        if self.what_if and self.runs("whatif"):
            windows, overhead = windows + 3 * levels, overhead + ANALYZER_START_S * levels
        if self.runs("priority"):  # two scenarios of 2 warm-up + 6 measured windows, long drains
            windows, overhead = windows + 2 * 8, overhead + 2 * 10 * DRAIN_S
        return windows, overhead

    def measurement_interval_s(self) -> float:
        """One measurement window: what is left of the budget after overheads, shared by all windows."""
        if self.interval_s is not None:
            return self.interval_s
        windows, overhead = self.window_units()
        available = self.budget_s - FIXED_OVERHEAD_S - overhead - (self.limit_budget_s if self.runs("limit") else 0)
        return min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, available / windows))


def parse_levels(raw: str) -> tuple[int, ...]:
    """'1,2,4' -> (1, 2, 4)."""
    try:
        levels = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
    except ValueError:
        raise ConfigError(f"concurrency must be comma-separated integers, got {raw!r}") from None
    if not levels:
        raise ConfigError("no concurrency level given")
    return levels
