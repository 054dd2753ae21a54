"""The results file: markdown tables of one run, with the commands, hardware and configuration."""

from __future__ import annotations

import math
from pathlib import Path

from perf.markdown import pct, table, times
from perf.repository import parameter, read_config
from perf.results import ANALYZER, BASELINE, BATCHING_OFF, DIRECT, GATEWAY, LIMIT, Results
from perf.targets import ratio, verdicts
from triton_launcher.layout import CONFIG_FILE

SYSTEMS = (LIMIT, BASELINE, GATEWAY, DIRECT, ANALYZER, BATCHING_OFF)
SHARED_LOAD = 1.5  # a load average above this (2 cores) means others were computing too
SHARED_CPU = 0.05  # other processes took more than this share of the cores during the run


def header(results: Results, title: str) -> str:
    env = results.environment
    before, after = results.load_before, results.load_after
    noisy = results.others_cpu > SHARED_CPU or (math.isnan(results.others_cpu) and max(*before, *after) > SHARED_LOAD)
    lines = [
        f"# {title}", "",
        f"Run started {results.started}, took {results.elapsed_s / 60:.1f} min. Command (repository root):", "",
        f"```bash\n{results.command}\n```", "",
        table(["", ""], [
            ["CPU", env.get("cpu", "?")], ["memory", env.get("memory", "?")],
            ["GPU", _gpu(env.get("gpu", "none"))],
            ["tritonserver", env.get("tritonserver", "?") + " (nvidia-pytriton 0.7.0 wheel, CPU only)"],
            ["onnxruntime / numpy / python", f"{env.get('onnxruntime')} / {env.get('numpy')} / {env.get('python')}"],
            ["perf_analyzer", env.get("perf_analyzer", "?")],
            ["load average (1, 5, 15 min)", f"before {_load(before)}; after {_load(after)}"],
            ["CPU taken by other processes", f"{pct(results.others_cpu)} of all cores over the run (/proc/stat "
             "minus this run's process tree); per measurement in the `others' CPU` column below"],
            ["measurement window", f"{results.interval_s:.1f} s (perf_analyzer: 3 windows per level; "
             f"asyncio client: 1 warm-up + 3 measured)"],
        ]), "",
    ]
    if noisy:
        lines += ["**The machine was shared**: other processes (other developers' test suites) used the same cores "
                  "during this run. Absolute figures are noisy; the ratios of systems measured side by side, at the "
                  "same level, are the result.", ""]
    return "\n".join(lines)


def _gpu(gpu: str) -> str:
    return gpu if gpu != "none" else "none: no GPU machine was lent to this session, so the GPU run was not made"


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in load)


def configuration(results: Results, repository: Path) -> str:
    rows = []
    for model_dir in sorted(path for path in repository.iterdir() if (path / CONFIG_FILE).exists()):
        config = read_config(model_dir)
        if config.platform == "ensemble":
            continue
        batching = config.dynamic_batching
        instances = sum(group.count for group in config.instance_group) or 1
        rows.append([model_dir.name, config.max_batch_size,
                     f"{batching.max_queue_delay_microseconds} us" if config.HasField("dynamic_batching") else "off",
                     instances, parameter(config, "session_batch", "-"), parameter(config, "intra_op_threads", "-"),
                     parameter(config, "allow_spinning", "-")])
    inputs = table(["size", "inputs"], results.input_sizes.items())
    models = table(["model", "max_batch_size", "dynamic batching (queue delay)", "instances", "session_batch",
                    "intra_op_threads", "allow_spinning"], rows)
    return "\n".join([
        "## Configuration", "",
        "Inputs: real photos (zidane, bus, grace_hopper, nemo) centre-cropped and resized, JPEG quality 90; "
        "the same photos in the same order for every system.", "", inputs, "",
        f"Model repository `{repository.name}/` as committed:", "", models, "",
    ])


def targets_section(results: Results) -> str:
    rows = [[v.target, v.measured, {True: "met", False: "**missed**", None: "-"}[v.met]] for v in verdicts(results)]
    return "\n".join(["## Targets", "", table(["target", "measured", "verdict"], rows), ""])


def comparison_section(results: Results) -> str:
    size = results.compare_size
    rows = []
    for system in results.systems(SYSTEMS):
        for m in results.series(system, size):
            baseline = results.find(BASELINE, size, m.concurrency)
            rows.append([system, m.concurrency, m.throughput, m.p50_ms, m.p90_ms, m.p99_ms,
                         pct(ratio(m.throughput, results.limit_at(size, m.concurrency))),
                         times(ratio(m.throughput, baseline.throughput if baseline else None)),
                         m.requests, m.errors, pct(m.others_cpu)])
    headers = ["system", "concurrency", "img/s", "p50 ms", "p90 ms", "p99 ms", "of limit", "vs baseline", "requests",
               "errors", "others' CPU"]
    return "\n".join([
        f"## Systems side by side ({size})", "",
        "Closed loop: each of `concurrency` clients sends its next photo when the last answer is read. The asyncio "
        "client (httpx multipart for REST, tritonclient.grpc.aio for gRPC) is the same for the baseline, the gateway "
        "and Triton direct; perf_analyzer is Triton's C++ load generator on the same input data. The systems are "
        "measured level by level, each in turn; the limit row at each level is the ONNX Runtime ceiling measured "
        "between them (it has no concurrency of its own), and `of limit` divides by it.", "",
        table(headers, rows), "", f"![throughput and p99 vs concurrency]({_plot_name(results)})", "",
    ])


def _plot_name(results: Results) -> str:
    plot = results.files.get("plot")
    return plot.name if plot else "plot.png"


def limit_section(results: Results) -> str:
    if results.limit is None:
        return ""
    rows = [[point.batch, point.detect_ms, point.faces_ms, point.images_per_s,
             "best" if point == results.limit.best else ""] for point in results.limit.points]
    return "\n".join([
        "## The limit: detect + faces in ONNX Runtime alone", "",
        f"The two ONNX models opened as the Triton models open them (same files, config knobs, intra_op_threads "
        f"{results.limit.threads} = ONNX Runtime's default, one thread per core), run back to back in this process "
        f"on letterboxed {results.compare_size} photos, no server, before any server started: the fastest of "
        "repeated runs. The `limit` rows above are this ceiling at the best batch measured again between the "
        "systems, images over elapsed time. "
        "Ceiling = batch / (detect + faces).", "",
        table(["batch", "detect ms", "faces ms", "images/s", ""], rows), "",
    ])


def priority_section(results: Results) -> str:
    if not results.priorities:
        return ""
    rows = [[entry.scenario, entry.label, entry.priority, entry.measurement.concurrency, entry.measurement.throughput,
             entry.measurement.p50_ms, entry.measurement.p99_ms, entry.measurement.requests]
            for entry in results.priorities]
    return "\n".join([
        f"## Priority under load ({results.compare_size}, Triton direct gRPC)", "",
        "Two groups of closed-loop clients at once, saturating the server with a backlog several batches "
        "deep (the low group alone is four times the highest level): the `high` group sends Triton request priority 1, the `low` group priority 3. "
        "The control run sends the same load with every request at the default priority 2.", "",
        table(["scenario", "group", "priority", "clients", "img/s", "p50 ms", "p99 ms", "requests"], rows), "",
    ])


def commands_section(results: Results) -> str:
    commands = sorted({run.command for run in results.model_runs})
    return "\n".join([
        "## Commands", "",
        "Everything above came from the one command at the top. The perf_analyzer invocations it made (input-data "
        "files are written into a scratch folder under `var/perf/` from the photos above):", "",
        "<details><summary>perf_analyzer commands</summary>", "", "```bash", *commands, "```", "", "</details>", "",
    ])


def notes_section(results: Results) -> str:
    if not results.notes:
        return ""
    return "\n".join(["## Notes from the run", "", *[f"- {note}" for note in results.notes], ""])


def render(results: Results, repository: Path, title: str) -> str:
    from perf import report_triton

    sections = [
        header(results, title), targets_section(results), comparison_section(results), limit_section(results),
        report_triton.analyzer_section(results), report_triton.split_section(results),
        report_triton.models_section(results), report_triton.model_batching_section(results), priority_section(results),
        report_triton.profile_section(results),
        configuration(results, repository), commands_section(results), notes_section(results),
    ]
    return "\n".join(section for section in sections if section)
