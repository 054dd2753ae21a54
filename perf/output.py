"""Write a run to perf/results/: <date>-<hardware>.md, .png, and a folder of CSVs and raw profiles."""

from __future__ import annotations

import csv
import dataclasses
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from perf.plot import write_plot
from perf.report import SYSTEMS, render
from perf.results import Measurement, Results


def write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def merge_analyzer_csvs(scratch: Path, destination: Path) -> list[Path]:
    """perf_analyzer writes one CSV per level (<model>-<size>-c<N>.csv); keep one per model and size."""
    groups: dict[str, list[Path]] = {}
    for path in scratch.glob("*-c*.csv"):
        groups.setdefault(path.name.rsplit("-c", 1)[0], []).append(path)
    merged = []
    for name, paths in sorted(groups.items()):
        paths.sort(key=lambda path: int(path.stem.rsplit("-c", 1)[1]))
        lines = [path.read_text().splitlines() for path in paths]
        header = lines[0][0]
        rows = [line for content in lines for line in content[1:] if line.strip()]
        merged.append(destination / f"{name}.csv")
        merged[-1].write_text("\n".join([header, *rows]) + "\n")
    return merged


def write_tables(results: Results, folder: Path) -> None:
    write_csv(folder / "measurements.csv", [field.name for field in dataclasses.fields(Measurement)],
              [dataclasses.astuple(m) for m in results.measurements])
    split_rows = [[run.model, run.size, run.row.concurrency, *dataclasses.astuple(split), split.batch_size]
                  for run in results.model_runs for split in run.splits]
    split_headers = ["run_model", "size", "concurrency", "model", "requests", "executions", "inferences", "queue_ms",
                     "compute_input_ms", "compute_infer_ms", "compute_output_ms", "busy_s", "images_per_execution"]
    write_csv(folder / "triton-model-splits.csv", split_headers, split_rows)
    if results.limit is not None:
        write_csv(folder / "limit.csv", ["batch", "detect_ms", "faces_ms", "images_per_s"],
                  [[p.batch, p.detect_ms, p.faces_ms, p.images_per_s] for p in results.limit.points])
    if results.priorities:
        write_csv(folder / "priority.csv", ["scenario", "group", "priority", "clients", "img_s", "p50_ms", "p90_ms", "p99_ms", "requests"],
                  [[e.scenario, e.label, e.priority, e.measurement.concurrency, e.measurement.throughput,
                    e.measurement.p50_ms, e.measurement.p90_ms, e.measurement.p99_ms, e.measurement.requests]
                   for e in results.priorities])


def write_results(results: Results, out_dir: Path, tag: str, repository: Path) -> Path:
    """The markdown file's path; beside it the PNG and the folder of CSVs."""
    stem = f"{time.strftime('%Y-%m-%d')}-{tag}"
    folder = out_dir / stem
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "perf_analyzer").mkdir(parents=True)
    scratch = results.files.pop("scratch", None)
    if scratch is not None:
        merge_analyzer_csvs(scratch, folder / "perf_analyzer")
        if (scratch / "py-spy").exists():
            shutil.copytree(scratch / "py-spy", folder / "py-spy")
    write_tables(results, folder)
    markdown = write_report(results, out_dir, stem, repository)
    if scratch is not None:
        results.files["scratch"] = scratch
    return markdown


def write_report(results: Results, out_dir: Path, stem: str, repository: Path) -> Path:
    """<stem>.png and <stem>.md in ``out_dir`` from ``results``."""
    results.files["plot"] = write_plot(results, tuple(results.systems(SYSTEMS)), out_dir / f"{stem}.png")
    markdown = out_dir / f"{stem}.md"
    tag = stem[len("YYYY-MM-DD-"):]
    body = render(results, repository, f"Benchmark {stem[:10]}, {tag}")
    body += f"\nCSV files (every perf_analyzer level, every measurement, Triton splits): [`{stem}/`]({stem}/)\n"
    markdown.write_text(body)
    return markdown
