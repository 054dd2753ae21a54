"""How much of the machine other processes took while we measured (a shared machine's noise).

/proc/stat gives the CPU time every process on the machine used; this run's own share is the
CPU time of this process and all its descendants (servers, model stubs, perf_analyzer, py-spy),
read from /proc/<pid>/stat (own + reaped children's time). The rest belongs to others.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds spent by every process on the machine since boot (all cores, idle and iowait excluded)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / TICKS


def _processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and its reaped children)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(entry.name)] = (int(fields[1]), sum(int(value) for value in fields[11:15]) / TICKS)
    return found


def tree_cpu_s(root: int) -> float:
    """CPU seconds used so far by ``root`` and every process below it."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        if pid in processes:
            total += processes[pid][1]
        stack += children.get(pid, [])
    return total


@dataclass
class CpuMeter:
    """Share of all cores used by processes outside this run, between start() and share()."""

    started: float = 0.0
    busy: float = 0.0
    ours: float = 0.0

    def start(self) -> CpuMeter:
        self.started, self.busy, self.ours = time.monotonic(), machine_busy_s(), tree_cpu_s(os.getpid())
        return self

    def share(self) -> float:
        elapsed = time.monotonic() - self.started
        if elapsed <= 0:
            return math.nan
        others = (machine_busy_s() - self.busy) - (tree_cpu_s(os.getpid()) - self.ours)
        return min(1.0, max(0.0, others / (elapsed * (os.cpu_count() or 1))))
