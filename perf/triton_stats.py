"""Where time goes inside Triton: per-model statistics, differenced around a measurement."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tritonclient.grpc as grpcclient

PHASES = ("queue", "compute_input", "compute_infer", "compute_output")

Snapshot = Mapping[str, Mapping[str, Any]]  # model name -> its statistics JSON


@dataclass(frozen=True)
class ModelSplit:
    """One model over one measurement: counts, and the average milliseconds per request in each phase."""

    model: str
    requests: int
    executions: int
    inferences: int
    queue_ms: float
    compute_input_ms: float
    compute_infer_ms: float
    compute_output_ms: float
    busy_s: float  # seconds the model's executions took (compute input + infer + output), nan for an ensemble

    @property
    def batch_size(self) -> float:
        """Average number of images per execution (what dynamic batching achieved)."""
        return self.inferences / self.executions if self.executions else 0.0


def snapshot(client: grpcclient.InferenceServerClient) -> dict[str, dict[str, Any]]:
    """Statistics of every loaded model, keyed by name (latest version only)."""
    stats = client.get_inference_statistics(as_json=True).get("model_stats", [])
    return {entry["name"]: entry for entry in stats}


def _count(entry: Mapping[str, Any], phase: str) -> tuple[int, int]:
    stat = entry.get("inference_stats", {}).get(phase, {})
    return int(stat.get("count", 0)), int(stat.get("ns", 0))


def _execution_ns(entry: Mapping[str, Any]) -> int:
    """Compute time of every execution so far: Triton's per-batch-size statistics, summed.

    (The per-request averages charge a whole batch's time to each of its requests.)
    """
    return sum(
        int(stats.get(phase, {}).get("ns", 0))
        for stats in entry.get("batch_stats", [])
        for phase in ("compute_input", "compute_infer", "compute_output")
    )


def difference(before: Snapshot, after: Snapshot) -> list[ModelSplit]:
    """Per-model split of what happened between two snapshots (models with no requests omitted)."""
    splits = []
    for model, entry in after.items():
        previous = before.get(model, {})
        requests = _count(entry, "success")[0] - _count(previous, "success")[0]
        if requests <= 0:
            continue
        averages = {}
        for phase in PHASES:
            count = _count(entry, phase)[0] - _count(previous, phase)[0]
            nanoseconds = _count(entry, phase)[1] - _count(previous, phase)[1]
            averages[phase] = nanoseconds / count / 1e6 if count else 0.0
        splits.append(
            ModelSplit(
                model=model,
                requests=requests,
                executions=int(entry.get("execution_count", 0)) - int(previous.get("execution_count", 0)),
                inferences=int(entry.get("inference_count", 0)) - int(previous.get("inference_count", 0)),
                queue_ms=averages["queue"],
                compute_input_ms=averages["compute_input"],
                compute_infer_ms=averages["compute_infer"],
                compute_output_ms=averages["compute_output"],
                busy_s=(_execution_ns(entry) - _execution_ns(previous)) / 1e9 if "batch_stats" in entry else math.nan,
            )
        )
    return sorted(splits, key=lambda split: split.model)
