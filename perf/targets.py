"""The issue's targets, checked against one run's results: ratio reached and whether it meets the bar."""

from __future__ import annotations

import math
from dataclasses import dataclass

from perf.results import (
    ANALYZER,
    BASELINE,
    BATCHING_OFF,
    BATCHING_OFF_VARIANT,
    DIRECT,
    ENSEMBLE,
    GATEWAY,
    ModelRun,
    Results,
)


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


def ratio(numerator: float | None, denominator: float | None) -> float:
    if numerator is None or denominator is None or denominator == 0:
        return math.nan
    return numerator / denominator


def limit_target(results: Results) -> Verdict:
    target = "Ensemble >= 85% of the limit (ONNX Runtime alone, best batch)"
    size = results.compare_size
    shares = [(ratio(m.throughput, results.limit_at(size, m.concurrency)), m) for m in results.series(ANALYZER, size)]
    shares = [(share, m) for share, m in shares if not math.isnan(share)]
    if not shares:
        return Verdict(target, "not measured", None)
    share, best = max(shares, key=lambda pair: pair[0])
    batch = f", batch {results.limit.best.batch}" if results.limit else ""
    measured = (f"{share:.0%} at {size}, c={best.concurrency}: {best.throughput:.2f} img/s (perf_analyzer) vs "
                f"{results.limit_at(size, best.concurrency):.2f} img/s limit measured beside it{batch}")
    if results.limit is not None:
        ideal = results.limit.best.images_per_s
        measured += f"; {ratio(best.throughput, ideal):.0%} of the sweep's fastest single-session runs ({ideal:.2f} img/s)"
    return Verdict(target, measured, share >= 0.85)


def baseline_target(results: Results, system: str) -> Verdict:
    size, level = results.compare_size, max((m.concurrency for m in results.series(BASELINE, results.compare_size)), default=0)
    target = f"{system} >= 1.0x the baseline at concurrency {level or 16}, with lower p99"
    ours, baseline = results.find(system, size, level), results.find(BASELINE, size, level)
    if ours is None or baseline is None:
        return Verdict(target, "not measured", None)
    speedup = ratio(ours.throughput, baseline.throughput)
    if math.isnan(speedup):
        return Verdict(target, f"baseline answered nothing at c={level} ({baseline.errors} errors)", None)
    measured = (f"{speedup:.2f}x ({ours.throughput:.2f} vs {baseline.throughput:.2f} img/s); "
                f"p99 {ours.p99_ms:.0f} vs {baseline.p99_ms:.0f} ms")
    return Verdict(target, measured, speedup >= 1.0 and ours.p99_ms < baseline.p99_ms)


def geometric_mean(values: list[float]) -> float:
    values = [value for value in values if value > 0 and not math.isnan(value)]
    return math.exp(sum(math.log(value) for value in values) / len(values)) if values else math.nan


def gateway_target(results: Results) -> Verdict:
    target = "Gateway >= 90% of direct gRPC throughput, < 3 ms added p50"
    size = results.compare_size
    pairs = [(g, d) for g in results.series(GATEWAY, size) if (d := results.find(DIRECT, size, g.concurrency)) is not None]
    if not pairs:
        return Verdict(target, "not measured", None)
    shares = [ratio(g.throughput, d.throughput) for g, d in pairs]
    share = geometric_mean(shares)
    gateway_1, direct_1 = pairs[0]
    added = gateway_1.p50_ms - direct_1.p50_ms
    per_level = ", ".join(f"{s:.0%}" for s in shares)
    measured = (f"throughput {share:.0%} of direct (geometric mean over c={pairs[0][0].concurrency}..{pairs[-1][0].concurrency}: "
                f"{per_level}); p50 {added:+.1f} ms at c={gateway_1.concurrency}")
    return Verdict(target, measured, share >= 0.90 and added < 3.0)


def model_batching_pairs(results: Results) -> list[tuple[ModelRun, ModelRun]]:
    """(batching on, batching off) runs of each composing model alone, same size and level."""
    off_runs = {(run.model, run.size, run.row.concurrency): run for run in results.model_runs
                if run.model.endswith(f" ({BATCHING_OFF_VARIANT})")}
    pairs = []
    for run in sorted(results.model_runs, key=lambda run: run.model):
        off = off_runs.get((f"{run.model} ({BATCHING_OFF_VARIANT})", run.size, run.row.concurrency))
        if off is not None and run.model != ENSEMBLE:
            pairs.append((run, off))
    return pairs


def batching_target(results: Results) -> Verdict:
    target = "Dynamic batching measurably helps (on vs off, perf_analyzer)"
    size = results.compare_size
    on, off = results.series(ANALYZER, size), results.series(BATCHING_OFF, size)
    if not on or not off:
        return Verdict(target, "not measured", None)
    best_on, best_off = max(on, key=lambda m: m.throughput), max(off, key=lambda m: m.throughput)
    saturated_on, saturated_off = on[-1], off[-1]
    at_saturation = ratio(saturated_on.throughput, saturated_off.throughput)
    measured = (f"pipeline {at_saturation:.2f}x at c={saturated_on.concurrency} ({saturated_on.throughput:.2f} on vs "
                f"{saturated_off.throughput:.2f} off); best levels {best_on.throughput:.2f} (c={best_on.concurrency}) vs "
                f"{best_off.throughput:.2f} (c={best_off.concurrency})")
    if pairs := model_batching_pairs(results):
        alone = ", ".join(f"{on.model} {ratio(on.row.throughput, off.row.throughput):.2f}x" for on, off in pairs)
        measured += f"; each model alone at c={pairs[0][0].row.concurrency}: {alone}"
    return Verdict(target, measured, at_saturation > 1.05 and best_on.throughput >= best_off.throughput)


def verdicts(results: Results) -> list[Verdict]:
    return [
        limit_target(results),
        baseline_target(results, DIRECT),
        baseline_target(results, GATEWAY),
        gateway_target(results),
        batching_target(results),
    ]
