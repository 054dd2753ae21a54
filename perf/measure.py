"""The measurements themselves: closed-loop sweeps, perf_analyzer levels, priorities, profiles."""

from __future__ import annotations

import asyncio
import functools
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tritonclient.grpc as grpcclient

from perf import triton_stats
from perf.clients import GrpcPipeline
from perf.load import Stream, Window, run_streams
from perf.perf_analyzer import PerfAnalyzer, concurrency_arguments, measure
from perf.profile import StubProfile, finish_recording, start_recording, stub_processes
from perf.results import Measurement, ModelRun, PriorityResult


class Client(Protocol):
    async def send(self, payload: bytes) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class StepData:
    """perf_analyzer input data for one model at one size."""

    path: Path
    shapes: tuple[str, ...]


def closed_loop_level(
    system: str, size: str, payloads: Sequence[bytes], make_client: Callable[[], Client], level: int, window: Window
) -> Measurement:
    """The asyncio client at one concurrency level, with a connection pool of its own."""

    async def measure() -> Measurement:
        client = make_client()
        try:
            [result] = await run_streams([Stream(system, client.send, level)], payloads, window)
        finally:
            await client.close()
        return Measurement.from_stream(system, size, result)

    return asyncio.run(measure())


def analyzer_level(
    analyzer: PerfAnalyzer, url: str, model: str, size: str, data: StepData, concurrency: int, window_s: float, csv_dir: Path
) -> ModelRun:
    """perf_analyzer at one level, with Triton's per-model statistics differenced around it."""
    csv_path = csv_dir / f"{model}-{size}-c{concurrency}.csv"
    arguments = concurrency_arguments(model, url, data.path, data.shapes, concurrency, round(1000 * window_s), csv_path)
    with grpcclient.InferenceServerClient(url) as client:
        before = triton_stats.snapshot(client)
        row = measure(analyzer, arguments, csv_path, timeout_s=12 * window_s + 180)
        after = triton_stats.snapshot(client)
    command = shlex.join([f"LD_LIBRARY_PATH={analyzer.library_dir}", str(analyzer.binary), *arguments])
    command = command.replace(f"{Path.cwd()}/", "")  # as rerun from the repository root, no machine paths
    return ModelRun(model, size, row, tuple(triton_stats.difference(before, after)), command)


def priority_scenarios(url: str, payloads: Sequence[bytes], size: str, high: int, low: int, window: Window) -> list[PriorityResult]:
    """``high`` workers at priority 1 beside ``low`` at priority 3, then the same load all at 2 (control)."""
    scenarios = {"priorities 1 vs 3": (1, 3), "control: all at priority 2": (2, 2)}

    async def run() -> list[PriorityResult]:
        client = GrpcPipeline(url)
        found = []
        try:
            for scenario, (high_priority, low_priority) in scenarios.items():
                streams = [
                    Stream("high", functools.partial(_infer_at, client, high_priority), high),
                    Stream("low", functools.partial(_infer_at, client, low_priority), low),
                ]
                results = await run_streams(streams, payloads, window)
                for result, priority in zip(results, (high_priority, low_priority), strict=True):
                    measurement = Measurement.from_stream(f"priority {priority}", size, result)
                    found.append(PriorityResult(scenario, result.label, priority, measurement))
        finally:
            await client.close()
        return found

    return asyncio.run(run())


def profile_under_load(
    executable: str, url: str, payloads: Sequence[bytes], concurrency: int, duration_s: float, out_dir: Path
) -> list[StubProfile]:
    """py-spy on every model's stub while the asyncio client keeps ``concurrency`` requests in flight."""
    stubs = stub_processes(int(url.rsplit(":", 1)[1]))
    if not stubs:
        return []

    async def load() -> None:
        client = GrpcPipeline(url)
        try:
            await run_streams([Stream("profile", client.send, concurrency)], payloads, Window(0.0, duration_s))
        finally:
            await client.close()

    recorders = start_recording(executable, stubs, duration_s, out_dir)
    asyncio.run(load())
    return finish_recording(recorders, duration_s, out_dir)


async def _infer_at(client: GrpcPipeline, priority: int, payload: bytes) -> None:
    await client.infer(payload, priority)
