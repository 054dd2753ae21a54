"""The PNG: throughput and p99 latency against concurrency, one line per system, the limit dashed."""

from __future__ import annotations

from pathlib import Path

from perf.results import LIMIT, Results

MARKERS = "osD^v<>"


def write_plot(results: Results, systems: tuple[str, ...], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    size = results.compare_size
    for index, system in enumerate(systems):
        series = results.series(system, size)
        if not series:
            continue
        levels = [m.concurrency for m in series]
        if system == LIMIT:
            batch = f", batch {results.limit.best.batch}" if results.limit else ""
            left.plot(levels, [m.throughput for m in series], linestyle="--", color="grey", label=f"{system}{batch}")
            continue
        style = {"marker": MARKERS[index % len(MARKERS)], "label": system}
        left.plot(levels, [m.throughput for m in series], **style)
        right.plot(levels, [m.p99_ms / 1000 for m in series], **style)
    levels = sorted({m.concurrency for m in results.measurements if m.size == size})
    for axis, title, unit in ((left, "throughput", "images/s"), (right, "p99 latency", "seconds")):
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(level) for level in levels])
        axis.set_xlabel("concurrency (requests in flight)")
        axis.set_ylabel(unit)
        axis.set_title(f"{title}, {size} photos")
        axis.grid(True, alpha=0.3)
        axis.set_ylim(bottom=0)
    left.legend(fontsize=8, loc="lower right")
    figure.suptitle(f"{results.environment.get('cpu', '')}, {results.started}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
