"""Report sections about the inside of Triton: perf_analyzer per size, per-model splits, profiles."""

from __future__ import annotations

import math

from perf.markdown import pct, table
from perf.results import ENSEMBLE, ModelRun, Results
from perf.targets import model_batching_pairs, ratio


def analyzer_section(results: Results) -> str:
    runs = [run for run in results.model_runs if run.model == ENSEMBLE]
    rows = [[run.size, run.row.concurrency, run.row.throughput,
             pct(ratio(run.row.throughput, results.limit_at(results.compare_size, run.row.concurrency))),
             run.row.p50_ms, run.row.p90_ms, run.row.p99_ms, run.row.client_send_ms + run.row.client_recv_ms,
             run.row.network_ms, run.row.server_queue_ms, run.row.server_input_ms, run.row.server_infer_ms,
             run.row.server_output_ms] for run in runs]
    headers = ["size", "concurrency", "img/s", "of limit", "p50 ms", "p90 ms", "p99 ms", "client send+recv ms",
               "network+server send/recv ms", "server queue ms", "compute input ms", "compute infer ms",
               "compute output ms"]
    return "\n".join([
        "## perf_analyzer: `pipeline` over gRPC at every size", "",
        "Server columns are perf_analyzer's ensemble totals, summed over the five steps (detect and faces run in "
        "parallel, so their sum can exceed the latency). The per-model split below is more telling.", "",
        table(headers, rows), "",
    ])


def split_rows(run: ModelRun) -> list[list[object]]:
    return [[split.model, split.requests, split.executions, split.batch_size, split.queue_ms, split.compute_input_ms,
             split.compute_infer_ms, split.compute_output_ms, split.busy_s] for split in run.splits]


SPLIT_HEADERS = ["model", "requests", "executions", "images per execution", "queue ms", "compute input ms",
                 "compute infer ms", "compute output ms", "busy s"]


def split_section(results: Results) -> str:
    """Triton's own statistics over the pipeline runs at their highest level: every size, then the variants."""
    lines = ["## Where the time goes", "",
             "Triton's statistics API, differenced around each perf_analyzer run at its highest concurrency "
             "(averages per request; `busy s` = compute time summed over the run: the busiest model is the "
             "bottleneck; compute input/output is the copying of tensors in and out of the Python models).", ""]
    groups: dict[tuple[str, str], list[ModelRun]] = {}
    for run in results.model_runs:
        if run.model.startswith(ENSEMBLE):
            groups.setdefault((run.model, run.size), []).append(run)
    for (model, size), runs in groups.items():
        run = max(runs, key=lambda run: run.row.concurrency)
        lines += [f"`{model}`, {size}, concurrency {run.row.concurrency}, {run.row.throughput:.2f} img/s:", "",
                  table(SPLIT_HEADERS, split_rows(run)), ""]
    return "\n".join(lines)


def models_section(results: Results) -> str:
    runs = [run for run in results.model_runs if run.model != ENSEMBLE and "(" not in run.model]
    if not runs:
        return ""
    rows = []
    for run in sorted(runs, key=lambda run: (run.model, run.size, run.row.concurrency)):
        own = run.own_split
        rows.append([run.model, run.size, run.row.concurrency, run.row.throughput, run.row.p50_ms, run.row.p99_ms,
                     own.batch_size if own else math.nan, own.queue_ms if own else math.nan,
                     own.compute_infer_ms if own else math.nan, own.compute_output_ms if own else math.nan])
    headers = ["model", "size", "concurrency", "img/s", "p50 ms", "p99 ms", "images per execution", "queue ms",
               "compute infer ms", "compute output ms"]
    return "\n".join([
        "## Composing models alone (perf_analyzer)", "",
        "Each model replays the tensors it received inside the pipeline (captured by sending the photos through "
        "the steps one by one), so its throughput alone shows what it could give the ensemble.", "",
        table(headers, rows), "",
    ])


def model_batching_section(results: Results) -> str:
    pairs = model_batching_pairs(results)
    if not pairs:
        return ""
    rows = []
    for on, off in pairs:
        own = on.own_split
        rows.append([on.model, on.size, on.row.concurrency, on.row.throughput, off.row.throughput,
                     f"{ratio(on.row.throughput, off.row.throughput):.2f}x", own.batch_size if own else math.nan,
                     on.row.p99_ms, off.row.p99_ms])
    headers = ["model", "size", "concurrency", "img/s on", "img/s off", "on / off", "images per execution (on)",
               "p99 ms on", "p99 ms off"]
    return "\n".join([
        "## Dynamic batching on vs off, each model alone (perf_analyzer)", "",
        "The same replayed tensors sent to each composing model on the server with the committed configs and on "
        "the copy without `dynamic_batching`, at the highest model level. Where one execution costs much more "
        "than its images (the per-call overhead of a Python model, a batched codec call) batching pays; where "
        "the work is per image anyway (ONNX Runtime on a CPU) it cannot.", "",
        table(headers, rows), "",
    ])


def profile_section(results: Results) -> str:
    if not results.profiles:
        return ""
    lines = ["## Python models under py-spy", "",
             "Samples of each model's stub process while the pipeline ran at load (py-spy --nonblocking, idle "
             "threads excluded; `busy` = share of wall time with a running Python thread). Native time inside a "
             "Python call (ONNX Runtime, the codecs) is charged to that call.", ""]
    rows = []
    for profile in (profile for profile in results.profiles if profile.samples):
        top = "; ".join(f"{name} {count / max(profile.samples, 1):.0%}" for name, count in profile.self_top[:4])
        rows.append([profile.model, f"{profile.busy:.0%}", profile.samples, top])
    lines += [table(["model", "busy", "samples", "innermost frames (share of its samples)"], rows), ""]
    return "\n".join(lines)
