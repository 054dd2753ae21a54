"""Throughput and success rate of the photos this process sent to Triton."""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any


class ThroughputStats:
    """Outcome counts since start, and completions over a sliding window."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self.started = time.monotonic()
        self.outcomes: Counter[str] = Counter()
        self._recent: deque[float] = deque()
        self._busy_s = 0.0

    def record(self, outcome: str, elapsed_s: float) -> None:
        """``outcome``: succeeded, rejected (the photo or options were bad) or failed."""
        self.outcomes[outcome] += 1
        self._busy_s += elapsed_s
        if outcome == "succeeded":
            now = time.monotonic()
            self._recent.append(now)
            self._trim(now)

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        self._trim(now)
        uptime = now - self.started
        total = sum(self.outcomes.values())
        window = min(self.window_s, uptime) or 1.0
        return {
            "uptime_s": round(uptime, 3),
            "processed": dict(self.outcomes),
            "total": total,
            "success_rate": round(self.outcomes["succeeded"] / total, 4) if total else None,
            "throughput_per_s": round(self.outcomes["succeeded"] / uptime, 4) if uptime else 0.0,
            "recent_throughput_per_s": round(len(self._recent) / window, 4),
            "recent_window_s": self.window_s,
            "mean_triton_latency_ms": round(1000 * self._busy_s / total, 2) if total else None,
        }

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0] > self.window_s:
            self._recent.popleft()


def aggregate(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """Several replicas' :meth:`ThroughputStats.snapshot` as one: counts and rates summed,
    uptime the longest, success rate and mean latency over every photo."""
    processed: Counter[str] = Counter()
    for snapshot in snapshots:
        processed.update(snapshot.get("processed", {}))
    total = sum(processed.values())
    busy_ms = sum((snapshot.get("mean_triton_latency_ms") or 0.0) * snapshot.get("total", 0) for snapshot in snapshots)
    return {
        "uptime_s": max((snapshot.get("uptime_s", 0.0) for snapshot in snapshots), default=0.0),
        "processed": dict(processed),
        "total": total,
        "success_rate": round(processed["succeeded"] / total, 4) if total else None,
        "throughput_per_s": round(sum(snapshot.get("throughput_per_s", 0.0) for snapshot in snapshots), 4),
        "recent_throughput_per_s": round(sum(snapshot.get("recent_throughput_per_s", 0.0) for snapshot in snapshots), 4),
        "recent_window_s": max((snapshot.get("recent_window_s", 0.0) for snapshot in snapshots), default=0.0),
        "mean_triton_latency_ms": round(busy_ms / total, 2) if total else None,
    }
