"""The issue's targets, checked against one run's results: ratio reached and whether it meets the bar."""

from __future__ import annotations

import math
from dataclasses import dataclass

from perf.results import ANALYZER, BASELINE, BATCHING_OFF, DIRECT, GATEWAY, Measurement, Results


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run


def ratio(numerator: float | None, denominator: float | None) -> float:
    if numerator is None or denominator is None or denominator == 0:
        return math.nan
    return numerator / denominator


def _throughput(measurement: Measurement | None) -> float | None:
    return measurement.throughput if measurement else None


def limit_target(results: Results) -> Verdict:
    target = "Ensemble >= 85% of the limit (ONNX Runtime alone, best batch)"
    best = results.best(ANALYZER, results.compare_size)
    if results.limit is None or best is None:
        return Verdict(target, "not measured", None)
    share = ratio(best.throughput, results.limit.best.images_per_s)
    measured = (f"{share:.0%} at {results.compare_size}: {best.throughput:.2f} img/s (c={best.concurrency}) vs "
                f"{results.limit.best.images_per_s:.2f} img/s (batch {results.limit.best.batch})")
    return Verdict(target, measured, share >= 0.85)


def baseline_target(results: Results, system: str) -> Verdict:
    size, level = results.compare_size, max((m.concurrency for m in results.series(BASELINE, results.compare_size)), default=0)
    target = f"{system} >= 1.0x the baseline at concurrency {level or 16}, with lower p99"
    ours, baseline = results.find(system, size, level), results.find(BASELINE, size, level)
    if ours is None or baseline is None:
        return Verdict(target, "not measured", None)
    speedup = ratio(ours.throughput, baseline.throughput)
    measured = (f"{speedup:.2f}x ({ours.throughput:.2f} vs {baseline.throughput:.2f} img/s); "
                f"p99 {ours.p99_ms:.0f} vs {baseline.p99_ms:.0f} ms")
    return Verdict(target, measured, speedup >= 1.0 and ours.p99_ms < baseline.p99_ms)


def gateway_target(results: Results) -> Verdict:
    target = "Gateway >= 90% of direct gRPC throughput, < 3 ms added p50"
    size = results.compare_size
    pairs = [(g, results.find(DIRECT, size, g.concurrency)) for g in results.series(GATEWAY, size)]
    pairs = [(g, d) for g, d in pairs if d is not None]
    if not pairs:
        return Verdict(target, "not measured", None)
    worst_share = min(ratio(g.throughput, d.throughput) for g, d in pairs)
    gateway_1, direct_1 = pairs[0]
    added = gateway_1.p50_ms - direct_1.p50_ms
    measured = (f"throughput {worst_share:.0%} of direct at worst (over c={pairs[0][0].concurrency}..{pairs[-1][0].concurrency}); "
                f"p50 {added:+.1f} ms at c={gateway_1.concurrency}")
    return Verdict(target, measured, worst_share >= 0.90 and added < 3.0)


def batching_target(results: Results) -> Verdict:
    target = "Dynamic batching measurably helps (on vs off, perf_analyzer)"
    size = results.compare_size
    on, off = results.best(ANALYZER, size), results.best(BATCHING_OFF, size)
    if on is None or off is None:
        return Verdict(target, "not measured", None)
    gain = ratio(on.throughput, off.throughput)
    measured = f"{gain:.2f}x best throughput ({on.throughput:.2f} on, c={on.concurrency}; {off.throughput:.2f} off, c={off.concurrency})"
    return Verdict(target, measured, gain > 1.05)


def verdicts(results: Results) -> list[Verdict]:
    return [
        limit_target(results),
        baseline_target(results, DIRECT),
        baseline_target(results, GATEWAY),
        gateway_target(results),
        batching_target(results),
    ]
