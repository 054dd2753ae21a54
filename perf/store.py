"""A run's results as JSON (results.json beside the CSVs), so its report can be written again.

`python -m perf.store perf/results/<date>-<hardware>/results.json` rewrites the markdown and
the plot from the stored figures, with the current report code, without measuring again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from perf.config import ROOT
from perf.limit import Limit, LimitPoint
from perf.perf_analyzer import PerfAnalyzerRow
from perf.profile import StubProfile
from perf.results import Measurement, ModelRun, PriorityResult, Results
from perf.triton_stats import ModelSplit


def portable(value: object) -> str:
    """Paths inside the repository relative to its root (no machine paths in committed results)."""
    if isinstance(value, Path) and value.is_absolute() and value.is_relative_to(ROOT):
        return str(value.relative_to(ROOT))
    return str(value)


def save(results: Results, path: Path) -> Path:
    path.write_text(json.dumps(dataclasses.asdict(results), default=portable, indent=1))
    return path


def load(path: Path) -> Results:
    raw: dict[str, Any] = json.loads(path.read_text())
    limit = raw.pop("limit")
    results = Results(**{**raw, "load_before": tuple(raw["load_before"]), "load_after": tuple(raw["load_after"])})
    results.limit = Limit(tuple(LimitPoint(**point) for point in limit["points"]), limit["threads"]) if limit else None
    results.measurements = [Measurement(**m) for m in raw["measurements"]]
    results.model_runs = [
        ModelRun(run["model"], run["size"], PerfAnalyzerRow(**run["row"]), tuple(ModelSplit(**s) for s in run["splits"]),
                 run["command"])
        for run in raw["model_runs"]
    ]
    results.priorities = [PriorityResult(**{**p, "measurement": Measurement(**p["measurement"])}) for p in raw["priorities"]]
    results.profiles = [
        StubProfile(p["model"], p["samples"], p["duration_s"], tuple(map(tuple, p["self_top"])),
                    tuple(map(tuple, p["inclusive_top"])), Path(p["raw_path"]))
        for p in raw["profiles"]
    ]
    results.files = {name: Path(value) for name, value in raw["files"].items()}
    return results


def main(argv: list[str] | None = None) -> int:
    from perf.output import write_report
    from triton_launcher.config import DEFAULT_REPOSITORY

    parser = argparse.ArgumentParser(prog="python -m perf.store", description=__doc__)
    parser.add_argument("results_json", type=Path)
    parser.add_argument("--model-repository", type=Path, default=DEFAULT_REPOSITORY)
    args = parser.parse_args(argv)
    folder = args.results_json.parent
    markdown = write_report(load(args.results_json), folder.parent, folder.name, args.model_repository)
    print(f"results: {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
