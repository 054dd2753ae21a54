"""The results file, plot and CSVs from a hand-made run (the numbers are made up; only the writing is tested)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf.limit import Limit, LimitPoint
from perf.output import merge_analyzer_csvs, write_results
from perf.perf_analyzer import PerfAnalyzerRow
from perf.results import (
    ANALYZER,
    BASELINE,
    BATCHING_OFF,
    DIRECT,
    GATEWAY,
    Measurement,
    ModelRun,
    PriorityResult,
    Results,
)
from perf.targets import verdicts
from perf.triton_stats import ModelSplit

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
SECTIONS = ["## Targets", "## Systems side by side", "## The limit", "## perf_analyzer", "## Where the time goes",
            "## Priority under load", "## Configuration", "## Commands"]


def measurement(system: str, level: int, throughput: float, p99: float) -> Measurement:
    return Measurement(system, "vga", level, throughput, p99 / 2, p99 * 0.9, p99, 10, 0, "test", 0.25)


def row(level: int, throughput: float) -> PerfAnalyzerRow:
    return PerfAnalyzerRow(level, throughput, 100, 150, 200, 110, 0.1, 1, 2, 0.5, 90, 1, 0.1)


def made_up_results() -> Results:
    results = Results(started="2026-01-01 00:00:00 UTC", command="python -m perf", environment={"cpu": "2 x test"},
                      interval_s=1.0, compare_size="vga", load_before=(0.1, 0.1, 0.1), load_after=(3.0, 2.0, 1.0))
    results.limit = Limit(points=(LimitPoint(1, 80, 20), LimitPoint(2, 150, 40)), threads="0")
    for level in (1, 16):
        results.measurements += [measurement(BASELINE, level, 5.0, 900), measurement(GATEWAY, level, 6.0, 700),
                                 measurement(DIRECT, level, 6.2, 690), measurement(ANALYZER, level, 6.5, 650),
                                 measurement(BATCHING_OFF, level, 5.5, 800)]
    split = ModelSplit("detect", 40, 10, 40, 5.0, 0.3, 150.0, 0.2, 1.5)
    results.model_runs += [ModelRun("pipeline", "vga", row(16, 6.5), (split,), "perf_analyzer -m pipeline"),
                           ModelRun("pipeline (batching off)", "vga", row(16, 5.5), (split,), "perf_analyzer -m pipeline"),
                           ModelRun("detect", "vga", row(8, 12.0), (split,), "perf_analyzer -m detect"),
                           ModelRun("detect (batching off)", "vga", row(8, 10.0), (split,), "perf_analyzer -m detect")]
    results.priorities.append(PriorityResult("priorities 1 vs 3", "high", 1, measurement("priority 1", 4, 1.0, 500)))
    results.input_sizes = {"vga": "640x480"}
    return results


def test_the_targets_are_judged_from_the_figures() -> None:
    judged = {verdict.target.split()[0]: verdict.met for verdict in verdicts(made_up_results())}
    assert judged["Ensemble"] is False  # 6.5 img/s of a 10.5 img/s limit
    assert judged["Dynamic"] is True  # 6.5 vs 5.5
    assert judged["Gateway"] is False  # +... p50 at c=1: 350 vs 345 ms


def test_the_report_plot_and_csvs_are_written(tmp_path: Path) -> None:
    markdown = write_results(made_up_results(), tmp_path, "cpu2", REPOSITORY)
    text = markdown.read_text()
    for section in SECTIONS:
        assert section in text
    assert "The machine was shared" in text
    assert "no GPU" in text
    stem = markdown.stem
    assert (tmp_path / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / stem / "measurements.csv").read_text().count("\n") == 11
    assert "detect" in (tmp_path / stem / "triton-model-splits.csv").read_text()


def test_per_level_csvs_are_merged_in_level_order(tmp_path: Path) -> None:
    for level in (16, 2):
        (tmp_path / f"pipeline-vga-c{level}.csv").write_text(f"Concurrency,Inferences/Second\n{level},1.0\n")
    out = tmp_path / "out"
    out.mkdir()
    [merged] = merge_analyzer_csvs(tmp_path, out)
    assert merged.name == "pipeline-vga.csv"
    assert merged.read_text().splitlines() == ["Concurrency,Inferences/Second", "2,1.0", "16,1.0"]


@pytest.mark.parametrize("system", [DIRECT, GATEWAY])
def test_faster_than_the_baseline_with_lower_p99_meets_that_target(system: str) -> None:
    verdict = next(v for v in verdicts(made_up_results()) if v.target.startswith(system))
    assert verdict.met is True and "16" in verdict.target


def test_the_limit_measured_beside_a_level_is_the_one_compared_with() -> None:
    results = made_up_results()
    assert results.limit_at("vga", 16) == pytest.approx(1000 * 2 / 190)  # the sweep's best, batch 2
    results.measurements.append(Measurement.for_limit("vga", 16, 7.0, 70))
    assert results.limit_at("vga", 16) == 7.0
    verdict = verdicts(results)[0]
    assert verdict.met is True and "93%" in verdict.measured  # 6.5 of 7.0


def test_batching_on_vs_off_for_each_model_alone(tmp_path: Path) -> None:
    results = made_up_results()
    verdict = next(verdict for verdict in verdicts(results) if verdict.target.startswith("Dynamic"))
    assert "each model alone at c=8: detect 1.20x" in verdict.measured
    markdown = write_results(results, tmp_path, "cpu2", REPOSITORY).read_text()
    section = markdown.split("## Dynamic batching on vs off, each model alone")[1].split("\n## ")[0]
    assert "| detect | vga | 8 | 12.00 | 10.00 | 1.20x |" in section
