"""`python -m perf` end to end on a tiny budget: real servers, real models, every part, every file.

No timing is asserted: the figures of such a short run mean nothing; the run must complete and
write its markdown, plot and CSVs with every section.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from perf.results import ANALYZER, BASELINE, BATCHING_OFF, DIRECT, GATEWAY

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--budget-s", "60", "--interval-s", "0.5", "--sizes", "vga", "--concurrency", "1,2", "--model-concurrency", "1"]
SECTIONS = ["## Targets", "## Systems side by side (vga)", "## The limit", "## perf_analyzer: `pipeline`",
            "## Where the time goes", "## Composing models alone", "## Dynamic batching on vs off, each model alone",
            "## Priority under load", "## Configuration",
            "## Commands"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not any(ROOT.glob("model_repository/detect/*/model.onnx")):
        pytest.fail("model_repository has no exported detector: run `python -m export ensure` first")
    out = tmp_path_factory.mktemp("perf-results")
    completed = subprocess.run([sys.executable, "-m", "perf", *TINY, "--out", str(out)], cwd=ROOT,
                               capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return out


def test_the_markdown_has_every_section(run: Path) -> None:
    [markdown] = run.glob("*.md")
    text = markdown.read_text()
    for section in SECTIONS:
        assert section in text, section
    assert "python -m perf --budget-s 60" in text
    assert "perf_analyzer -m pipeline -i grpc" in text


def test_the_plot_is_a_png(run: Path) -> None:
    [plot] = run.glob("*.png")
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_every_system_was_measured_at_every_level(run: Path) -> None:
    [folder] = [path for path in run.iterdir() if path.is_dir()]
    with open(folder / "measurements.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    measured = {(row["system"], int(row["concurrency"])) for row in rows if float(row["throughput"]) > 0}
    for system in (BASELINE, GATEWAY, DIRECT, ANALYZER, BATCHING_OFF):
        assert {(system, 1), (system, 2)} <= measured, system
    assert (folder / "perf_analyzer" / "pipeline-vga.csv").exists()
    assert {"decode-vga.csv", "detect-vga.csv", "faces-vga.csv", "blur-vga.csv", "encode-vga.csv"} <= {
        path.name for path in (folder / "perf_analyzer").iterdir()
    }
    assert (folder / "limit.csv").exists() and (folder / "priority.csv").exists()
