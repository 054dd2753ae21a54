"""Per-model splits from two statistics snapshots (Triton's JSON shape, made up numbers)."""

from __future__ import annotations

import math

import pytest

from perf.triton_stats import difference


def stats(requests: int, executions: int, queue_ns: int, infer_ns: int, batch_infer_ns: int) -> dict[str, object]:
    phase = {"count": str(requests)}
    return {
        "name": "detect",
        "inference_count": str(requests),
        "execution_count": str(executions),
        "inference_stats": {
            "success": phase,
            "queue": {**phase, "ns": str(queue_ns)},
            "compute_input": {**phase, "ns": "0"},
            "compute_infer": {**phase, "ns": str(infer_ns)},
            "compute_output": {**phase, "ns": "0"},
        },
        "batch_stats": [{"batch_size": "4", "compute_infer": {"count": str(executions), "ns": str(batch_infer_ns)}}],
    }


def test_averages_per_request_and_busy_time_per_execution() -> None:
    before = {"detect": stats(4, 1, 4_000_000, 400_000_000, 100_000_000)}
    after = {"detect": stats(12, 3, 12_000_000, 1_200_000_000, 300_000_000), "idle": {"name": "idle"}}
    [split] = difference(before, after)
    assert (split.model, split.requests, split.executions, split.inferences) == ("detect", 8, 2, 8)
    assert split.batch_size == 4
    assert split.queue_ms == pytest.approx(1.0) and split.compute_infer_ms == pytest.approx(100.0)
    assert split.busy_s == pytest.approx(0.2)


def test_an_ensemble_has_no_busy_time() -> None:
    entry = stats(2, 2, 0, 0, 0)
    del entry["batch_stats"]
    [split] = difference({}, {"pipeline": {**entry, "name": "pipeline"}})
    assert math.isnan(split.busy_s)
