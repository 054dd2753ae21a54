"""One benchmark run on this machine: the parts share one time budget.

The limit is measured first, alone. Then every system is started at once (baseline, Triton, the
gateway in front of it, Triton without batching, the what-if variant) and they are measured one
concurrency level at a time, each in turn, so a shared machine's slow drifts hit them alike.
The rest (priorities, profile, the other sizes, each model alone) runs on the main Triton after."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import tritonclient.grpc as grpcclient

from perf import services
from perf.clients import GrpcPipeline, RestUploader
from perf.config import MIN_ANALYZER_WINDOW_S, MODEL_WINDOW_SHARE, BenchConfig
from perf.environment import describe_environment, load_average
from perf.errors import MeasurementError, PerfError
from perf.inputs import SizedPhotos, sized_photos
from perf.limit import LimitModels
from perf.load import Window
from perf.machine import CpuMeter
from perf.measure import Client, StepData, analyzer_level, closed_loop_level, priority_scenarios, profile_under_load
from perf.model_inputs import capture_step_inputs, shape_arguments, write_step_input_data
from perf.perf_analyzer import PerfAnalyzer, ensure_perf_analyzer
from perf.profile import py_spy
from perf.repository import copy_with_overrides, copy_without_batching
from perf.results import (
    ANALYZER,
    BASELINE,
    BATCHING_OFF,
    BATCHING_OFF_VARIANT,
    DIRECT,
    ENSEMBLE,
    GATEWAY,
    LIMIT,
    WHAT_IF,
    Measurement,
    Results,
)
from triton_launcher import LauncherError, TritonServer

logger = logging.getLogger(__name__)

T = TypeVar("T")
PRIORITY_BACKLOG = 4  # low-priority clients per level of the highest concurrency
MODEL_SAMPLES = 2  # photos per composing-model input file (a 4K decoded image is 33 MB of JSON)


class Harness:
    def __init__(self, config: BenchConfig, command: str, scratch: Path) -> None:
        self.config = config
        self.scratch = scratch
        self.interval_s = config.measurement_interval_s()
        self.started = time.monotonic()
        self.results = Results(
            started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), command=command, environment=describe_environment(),
            interval_s=self.interval_s, compare_size=config.compare_size, load_before=load_average(),
        )
        self.photos: dict[str, SizedPhotos] = {}
        self.analyzer: PerfAnalyzer | None = None
        self.step_data: dict[tuple[str, str], StepData] = {}
        self.limit_models: LimitModels | None = None
        self.batching_off_url: str | None = None  # the variant server without dynamic batching, while it runs

    # -- helpers -------------------------------------------------------------------------------

    @property
    def window(self) -> Window:
        """Closed-loop levels: one window of warm-up, three measured (as perf_analyzer's three)."""
        return Window(warmup_s=self.interval_s, measure_s=3 * self.interval_s)

    def over_budget(self) -> bool:
        return time.monotonic() - self.started > 1.5 * self.config.budget_s

    def section(self, part: str, run: Callable[[], None], *, optional: bool = True) -> None:
        """Run one part unless skipped; a failing part is noted in the report, the others go on."""
        if not self.config.runs(part):
            return
        if optional and self.over_budget():
            self.results.notes.append(f"`{part}` skipped: the run was already past 1.5x its {self.config.budget_s:.0f} s budget.")
            return
        logger.info("== %s (%.0f s elapsed)", part, time.monotonic() - self.started)
        try:
            run()
        except PerfError as error:
            logger.error("%s failed: %s", part, error)
            self.results.notes.append(f"`{part}` failed: {error}")

    def log_path(self, name: str) -> Path:
        return self.scratch / f"{name}.log"

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> Results:
        """The limit alone first; then every system up at once, compared level by level."""
        meter = CpuMeter().start()
        self.prepare_inputs()
        self.section("limit", self.measure_limit, optional=False)
        with ExitStack() as stack:
            url = stack.enter_context(services.triton(self.config.repository, self.log_path("triton"))).grpc_url
            self.results.environment["tritonserver"] = server_version(url)
            self.prepare_step_data(url)
            systems = self.start_systems(stack, url)
            self.compare(systems)
            self.section("priority", lambda: self.measure_priority(url))
            self.section("profile", lambda: self.measure_profile(url))
            self.section("analyzer", lambda: self.measure_other_sizes(url))
            self.section("models", lambda: self.measure_models(url))
        self.results.load_after = load_average()
        self.results.others_cpu = meter.share()
        self.results.elapsed_s = time.monotonic() - self.started
        return self.results

    def prepare_inputs(self) -> None:
        self.photos = {size: sized_photos(size) for size in self.config.sizes}
        self.results.input_sizes = {
            size: f"{photos.width}x{photos.height}, {len(photos.payloads)} photos, mean {photos.mean_bytes / 1024:.0f} KiB JPEG"
            for size, photos in self.photos.items()
        }
        if any(self.config.runs(part) for part in ("analyzer", "models", "batching", "whatif")):
            self.analyzer = ensure_perf_analyzer(self.config.tools_dir)

    def measure_limit(self) -> None:
        """The batch sweep, alone on the machine; the sessions stay open for the comparison."""
        budget = self.config.limit_budget_s
        batches = (1, 2, 4, 8, 16) if budget >= 15 else (1, 2, 4) if budget >= 6 else (1, 2)
        self.limit_models = LimitModels(self.config.repository, self.photos[self.config.compare_size].payloads)
        self.results.limit = self.limit_models.sweep(batches, budget)

    def measure_limit_level(self, level: int) -> None:
        """The ceiling at the best batch, measured between the systems (it has no concurrency of its own)."""
        if self.limit_models is None or self.results.limit is None:
            return
        images_per_s, images = self.limit_models.throughput(self.results.limit.best.batch, 3 * self.interval_s)
        self.results.measurements.append(Measurement.for_limit(self.config.compare_size, level, images_per_s, images))

    def start_systems(self, stack: ExitStack, url: str) -> dict[str, Callable[[int], None]]:
        """Every system compared at the compare size, started now and measured one level at a time."""
        size = self.config.compare_size
        payloads, window, connections = self.photos[size].payloads, self.window, self.config.max_concurrency
        systems: dict[str, Callable[[int], None]] = {}

        def closed_loop(system: str, make_client: Callable[[], Client]) -> Callable[[int], None]:
            return lambda level: self.results.measurements.append(
                closed_loop_level(system, size, payloads, make_client, level, window))

        def analyzer(system: str, server_url: str, variant: str = "") -> Callable[[int], None]:
            return lambda level: self.analyzer_point(server_url, ENSEMBLE, size, level, self.interval_s, system, variant)

        if base_url := self.start("baseline", stack, lambda: services.baseline(self.config.repository, self.log_path("baseline"))):
            systems[BASELINE] = closed_loop(BASELINE, lambda: RestUploader(base_url, connections))
        storage = self.scratch / "gateway-storage"
        if gateway_url := self.start("gateway", stack, lambda: services.gateway(url, storage, 2 * connections, self.log_path("gateway"))):
            systems[GATEWAY] = closed_loop(GATEWAY, lambda: RestUploader(gateway_url, connections))
        systems[DIRECT] = closed_loop(DIRECT, lambda: GrpcPipeline(url))
        if self.results.limit is not None:
            systems[LIMIT] = self.measure_limit_level
        if self.config.runs("analyzer"):
            systems[ANALYZER] = analyzer(ANALYZER, url)
        if off := self.start("batching", stack, lambda: self.variant_server(copy_without_batching, "no-batching")):
            systems[BATCHING_OFF] = analyzer(BATCHING_OFF, off.grpc_url, BATCHING_OFF_VARIANT)
            self.batching_off_url = off.grpc_url
        if self.config.what_if and (changed := self.start("whatif", stack, lambda: self.variant_server(self.with_overrides, "what-if"))):
            label = ", ".join(str(override) for override in self.config.what_if)
            systems[f"{WHAT_IF}: {label}"] = analyzer(f"{WHAT_IF}: {label}", changed.grpc_url, f"what-if: {label}")
        return systems

    def start(self, part: str, stack: ExitStack, open_service: Callable[[], AbstractContextManager[T]]) -> T | None:
        """Enter one service's context unless its part is skipped; a failure to start is noted."""
        if not self.config.runs(part):
            return None
        logger.info("== starting %s", part)
        try:
            return stack.enter_context(open_service())
        except (PerfError, LauncherError) as error:
            logger.error("%s did not start: %s", part, error)
            self.results.notes.append(f"`{part}` did not start: {error}")
            return None

    def variant_server(self, make_copy: Callable[[Path, Path], Path], name: str) -> AbstractContextManager[TritonServer]:
        repository = make_copy(self.config.repository, self.scratch / f"repository-{name}")
        return services.triton(repository, self.log_path(f"triton-{name}"))

    def with_overrides(self, repository: Path, destination: Path) -> Path:
        return copy_with_overrides(repository, destination, self.config.what_if)

    def compare(self, systems: dict[str, Callable[[int], None]]) -> None:
        """Level by level, every system in turn: slow drifts of a shared machine hit all of them alike."""
        for level in self.config.concurrency:
            for system, measure_level in systems.items():
                logger.info("== %s, concurrency %d (%.0f s elapsed)", system, level, time.monotonic() - self.started)
                meter, count = CpuMeter().start(), len(self.results.measurements)
                try:
                    measure_level(level)
                except PerfError as error:
                    self.results.notes.append(f"{system} at concurrency {level} failed: {error}")
                others = meter.share()
                self.results.measurements[count:] = [replace(m, others_cpu=others) for m in self.results.measurements[count:]]

    def prepare_step_data(self, url: str) -> None:
        """Input-data files for the pipeline and each composing model, at every size."""
        with grpcclient.InferenceServerClient(url) as client:
            for size, photos in self.photos.items():
                captured = capture_step_inputs(client, ENSEMBLE, photos.payloads)
                first_step = next(iter(captured))
                captured[ENSEMBLE] = captured[first_step]  # the pipeline takes what its first step takes
                for model, samples in captured.items():
                    kept = samples if model in (ENSEMBLE, first_step) else samples[:MODEL_SAMPLES]
                    path = write_step_input_data(kept, self.scratch / f"input-{model}-{size}.json")
                    self.step_data[(model, size)] = StepData(path, tuple(shape_arguments(samples[0])))

    def measure_other_sizes(self, url: str) -> None:
        """perf_analyzer on the pipeline at the sizes other than the compare size (measured above)."""
        for size in (size for size in self.config.sizes if size != self.config.compare_size):
            for level in self.config.concurrency:
                self.analyzer_point(url, ENSEMBLE, size, level, self.interval_s, ANALYZER)

    def analyzer_point(
        self, url: str, model: str, size: str, level: int, window_s: float, system: str | None, variant: str = ""
    ) -> None:
        if self.analyzer is None:
            raise PerfError("perf_analyzer was not prepared")
        data, errors = self.step_data[(model, size)], []
        for window in (window_s, 2 * window_s, 4 * window_s):  # a window that saw no answer fails the run
            try:
                run = analyzer_level(self.analyzer, url, model, size, data, level, window, self.scratch)
                break
            except MeasurementError as error:
                logger.warning("perf_analyzer %s %s c=%d, %.1f s windows: %s", model, size, level, window, error)
                errors.append(str(error))
        else:
            self.results.notes.append(f"perf_analyzer {model} {size} c={level} failed three times: {' | '.join(errors)}")
            return
        self.results.model_runs.append(replace(run, model=f"{model} ({variant})") if variant else run)
        if system is not None:
            self.results.measurements.append(Measurement.from_analyzer(system, size, run.row, 3 * window))
        if errors:
            self.results.notes.append(f"perf_analyzer {model} {size} c={level} needed {window:.1f} s windows: {errors[0]}")

    def measure_priority(self, url: str) -> None:
        """A backlog several batches deep (the batcher takes up to max_batch_size requests at once, so a
        shallower queue leaves nothing to overtake), measured over windows longer than its latency."""
        size, low = self.config.compare_size, PRIORITY_BACKLOG * self.config.max_concurrency
        high = max(1, self.config.max_concurrency // 4)
        window = Window(warmup_s=2 * self.interval_s, measure_s=6 * self.interval_s)
        self.results.priorities += priority_scenarios(url, self.photos[size].payloads, size, high, low, window)

    def measure_profile(self, url: str) -> None:
        executable = py_spy()
        if executable is None:
            self.results.notes.append("py-spy not installed (`pip install py-spy`): no profile of the Python models.")
            return
        size, duration = self.config.compare_size, max(2.0, 3 * self.interval_s)
        level = max(level for level in self.config.concurrency if level <= 8)
        out_dir = self.scratch / "py-spy"
        self.results.profiles += profile_under_load(executable, url, self.photos[size].payloads, level, duration, out_dir)
        self.results.notes.append(f"py-spy sampled every model's stub for {duration:.0f} s at concurrency {level}, {size}.")

    def measure_models(self, url: str) -> None:
        """perf_analyzer on each composing model alone, replaying the tensors it got in the pipeline;
        at the compare size and the highest level also on the server without dynamic batching."""
        models = sorted({model for model, _ in self.step_data} - {ENSEMBLE})
        window = max(MIN_ANALYZER_WINDOW_S, MODEL_WINDOW_SHARE * self.interval_s)
        runs = [(url, model, size, level, "") for size in self.config.sizes for model in models
                for level in self.config.model_concurrency]
        if self.batching_off_url is not None:
            level = max(self.config.model_concurrency)
            runs += [(self.batching_off_url, model, self.config.compare_size, level, BATCHING_OFF_VARIANT) for model in models]
        for server_url, model, size, level, variant in runs:
            if self.over_budget():
                self.results.notes.append(f"composing-model runs stopped at {model} {size} {variant}: past 1.5x the budget.")
                return
            self.analyzer_point(server_url, model, size, level, window, None, variant)


def server_version(url: str) -> str:
    with grpcclient.InferenceServerClient(url) as client:
        return str(client.get_server_metadata(as_json=True).get("version", "?"))


def run_harness(config: BenchConfig, command: str) -> Results:
    """Run everything in a scratch folder under ``config.work_dir`` (kept on failure, for its logs)."""
    config.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=config.work_dir))
    results = Harness(config, command, scratch).run()
    results.files["scratch"] = scratch
    return results


def discard_scratch(scratch: Path) -> None:
    if scratch.exists() and os.environ.get("PERF_KEEP_SCRATCH") != "1":
        shutil.rmtree(scratch, ignore_errors=True)
