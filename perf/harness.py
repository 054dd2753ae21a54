"""One benchmark run, every part in order, on this machine: the parts share one time budget."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import tritonclient.grpc as grpcclient

from perf import services
from perf.clients import GrpcPipeline, RestUploader
from perf.config import MODEL_WINDOW_SHARE, BenchConfig
from perf.environment import describe_environment, load_average
from perf.errors import MeasurementError, PerfError
from perf.inputs import SizedPhotos, sized_photos
from perf.limit import measure_limit
from perf.load import Window
from perf.measure import StepData, analyzer_level, closed_loop_sweep, priority_scenarios, profile_under_load
from perf.model_inputs import capture_step_inputs, shape_arguments, write_step_input_data
from perf.perf_analyzer import PerfAnalyzer, ensure_perf_analyzer
from perf.profile import py_spy
from perf.repository import copy_with_overrides, copy_without_batching
from perf.results import ANALYZER, BASELINE, BATCHING_OFF, DIRECT, GATEWAY, WHAT_IF, Measurement, Results

logger = logging.getLogger(__name__)

ENSEMBLE = "pipeline"
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
        self.photos = {size: sized_photos(size) for size in self.config.sizes}
        self.results.input_sizes = {
            size: f"{photos.width}x{photos.height}, {len(photos.payloads)} photos, mean {photos.mean_bytes / 1024:.0f} KiB JPEG"
            for size, photos in self.photos.items()
        }
        if any(self.config.runs(part) for part in ("analyzer", "models", "batching")):
            self.analyzer = ensure_perf_analyzer(self.config.tools_dir)
        self.section("limit", self.measure_limit, optional=False)
        self.section("baseline", self.measure_baseline, optional=False)
        with services.triton(self.config.repository, self.log_path("triton")) as server:
            self.results.environment["tritonserver"] = server_version(server.grpc_url)
            self.prepare_step_data(server.grpc_url)
            self.section("analyzer", lambda: self.measure_pipeline(server.grpc_url, ANALYZER), optional=False)
            self.measure_direct(server.grpc_url)
            self.section("gateway", lambda: self.measure_gateway(server.grpc_url), optional=False)
            self.section("priority", lambda: self.measure_priority(server.grpc_url))
            self.section("profile", lambda: self.measure_profile(server.grpc_url))
            self.section("models", lambda: self.measure_models(server.grpc_url))
        self.section("batching", self.measure_batching_off)
        if self.config.what_if:
            self.section("whatif", self.measure_what_if)
        self.results.load_after = load_average()
        self.results.elapsed_s = time.monotonic() - self.started
        return self.results

    def measure_limit(self) -> None:
        budget = self.config.limit_budget_s
        batches = (1, 2, 4, 8, 16) if budget >= 15 else (1, 2, 4) if budget >= 6 else (1, 2)
        payloads = self.photos[self.config.compare_size].payloads
        self.results.limit = measure_limit(self.config.repository, payloads, batches, self.config.limit_budget_s)

    def measure_baseline(self) -> None:
        size = self.config.compare_size
        with services.baseline(self.config.repository, self.log_path("baseline")) as url:
            self.results.measurements += closed_loop_sweep(
                BASELINE, size, self.photos[size].payloads,
                lambda: RestUploader(url, self.config.max_concurrency), self.config.concurrency, self.window,
            )

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

    def measure_pipeline(self, url: str, system: str, variant: str = "") -> None:
        """perf_analyzer on the ensemble at every level: every size (compare size first) for the
        committed repository, the compare size alone for a variant of it."""
        sizes = sorted(self.config.sizes, key=lambda size: size != self.config.compare_size)
        for size in sizes if not variant else [self.config.compare_size]:
            for level in self.config.concurrency:
                self.analyzer_point(url, ENSEMBLE, size, level, self.interval_s, system, variant)

    def analyzer_point(
        self, url: str, model: str, size: str, level: int, window_s: float, system: str | None, variant: str = ""
    ) -> None:
        if self.analyzer is None:
            raise PerfError("perf_analyzer was not prepared")
        data = self.step_data[(model, size)]
        try:
            run = analyzer_level(self.analyzer, url, model, size, data, level, window_s, self.scratch)
        except MeasurementError as error:  # one retry with longer windows: a stalled window has no answers
            logger.warning("perf_analyzer %s %s c=%d: %s; retrying with %.1f s windows", model, size, level, error, 2 * window_s)
            try:
                run = analyzer_level(self.analyzer, url, model, size, data, level, 2 * window_s, self.scratch)
            except MeasurementError as again:
                self.results.notes.append(f"perf_analyzer {model} {size} c={level} failed twice: {again}")
                return
        self.results.model_runs.append(replace(run, model=f"{model} ({variant})") if variant else run)
        if system is not None:
            self.results.measurements.append(Measurement.from_analyzer(system, size, run.row, 3 * window_s))

    def measure_direct(self, url: str) -> None:
        size = self.config.compare_size
        self.results.measurements += closed_loop_sweep(
            DIRECT, size, self.photos[size].payloads, lambda: GrpcPipeline(url), self.config.concurrency, self.window
        )

    def measure_gateway(self, url: str) -> None:
        size = self.config.compare_size
        storage = self.scratch / "gateway-storage"
        with services.gateway(url, storage, 2 * self.config.max_concurrency, self.log_path("gateway")) as base_url:
            self.results.measurements += closed_loop_sweep(
                GATEWAY, size, self.photos[size].payloads,
                lambda: RestUploader(base_url, self.config.max_concurrency), self.config.concurrency, self.window,
            )

    def measure_priority(self, url: str) -> None:
        size, low = self.config.compare_size, self.config.max_concurrency
        high = max(1, low // 4)
        self.results.priorities += priority_scenarios(url, self.photos[size].payloads, size, high, low, self.window)

    def measure_profile(self, url: str) -> None:
        executable = py_spy()
        if executable is None:
            self.results.notes.append("py-spy not installed (`pip install py-spy`): no profile of the Python models.")
            return
        size, duration = self.config.compare_size, max(3.0, 3 * self.interval_s)
        level = max(level for level in self.config.concurrency if level <= 8)
        out_dir = self.scratch / "py-spy"
        self.results.profiles += profile_under_load(executable, url, self.photos[size].payloads, level, duration, out_dir)
        self.results.notes.append(f"py-spy sampled every model's stub for {duration:.0f} s at concurrency {level}, {size}.")

    def measure_models(self, url: str) -> None:
        """perf_analyzer on each composing model alone, replaying the tensors it got in the pipeline."""
        models = sorted({model for model, _ in self.step_data} - {ENSEMBLE})
        for size in self.config.sizes:
            for model in models:
                for level in self.config.model_concurrency:
                    if self.over_budget():
                        self.results.notes.append(f"composing-model runs stopped at {model} {size}: past 1.5x the budget.")
                        return
                    self.analyzer_point(url, model, size, level, MODEL_WINDOW_SHARE * self.interval_s, None)

    def measure_batching_off(self) -> None:
        repository = copy_without_batching(self.config.repository, self.scratch / "repository-no-batching")
        with services.triton(repository, self.log_path("triton-no-batching")) as server:
            self.measure_pipeline(server.grpc_url, BATCHING_OFF, variant="batching off")

    def measure_what_if(self) -> None:
        """The same sweep on a copy of the repository with the --what-if overrides written in."""
        label = ", ".join(str(override) for override in self.config.what_if)
        repository = copy_with_overrides(self.config.repository, self.scratch / "repository-what-if", self.config.what_if)
        with services.triton(repository, self.log_path("triton-what-if")) as server:
            self.measure_pipeline(server.grpc_url, f"{WHAT_IF}: {label}", variant=f"what-if: {label}")


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
