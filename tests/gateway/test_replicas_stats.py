"""Adding up replicas' throughput figures for /v1/stats (gateway.core.stats.aggregate)."""

from __future__ import annotations

from gateway.core.stats import ThroughputStats, aggregate


def test_replica_figures_add_up() -> None:
    first, second = ThroughputStats(), ThroughputStats()
    for outcome, elapsed_s in [("succeeded", 0.2), ("succeeded", 0.4), ("failed", 0.3)]:
        first.record(outcome, elapsed_s)
    second.record("succeeded", 0.1)
    total = aggregate([first.snapshot(), second.snapshot()])
    assert total["processed"] == {"succeeded": 3, "failed": 1} and total["total"] == 4
    assert total["success_rate"] == 0.75
    assert total["mean_triton_latency_ms"] == 250.0  # (200 + 400 + 300 + 100) / 4
    assert total["recent_throughput_per_s"] > 0 and total["uptime_s"] >= second.snapshot()["uptime_s"]


def test_no_replica_is_no_traffic() -> None:
    assert aggregate([]) == {
        "uptime_s": 0.0, "processed": {}, "total": 0, "success_rate": None, "throughput_per_s": 0.0,
        "recent_throughput_per_s": 0.0, "recent_window_s": 0.0, "mean_triton_latency_ms": None,
    }
