"""The recall run as markdown: goals, totals, throughput, every image, the exact command and setup."""

from __future__ import annotations

from perf.markdown import pct, table, times
from perf.peer import PEER_VERSION
from perf.recall_results import JPEG_GROUP, RecallRun
from perf.recall_suite import PHOTOS
from perf.recall_systems import PIPELINE_LABEL

FULL, SCALED = "deface full resolution", "deface --scale"


def _peer(run: RecallRun, prefix: str) -> str | None:
    return next((system for system in run.systems if system.startswith(prefix)), None)


def _found(run: RecallRun, system: str, group: str | None = None) -> str:
    found, faces = run.totals(system, group)
    return f"{found}/{faces} ({pct(found / faces) if faces else '-'})"


def goals(run: RecallRun) -> list[str]:
    """The issue's two goal lines, each with what was reached and a verdict."""
    full, scaled = _peer(run, FULL), _peer(run, SCALED)
    if full is None or scaled is None:
        return ["No peer in this run (`--no-peer`): the goals compare with deface and are not judged."]
    behind = [image for image in run.images if image.found(PIPELINE_LABEL) < image.found(full)]
    lines = [f"- **Recall >= deface at full resolution on every suite image**: {len(run.images) - len(behind)} of "
             f"{len(run.images)} images; faces overall {_found(run, PIPELINE_LABEL)} vs {_found(run, full)}: "
             + ("**met**" if not behind else "**missed** on " + ", ".join(
                 f"{image.name} ({image.found(PIPELINE_LABEL)} vs {image.found(full)} of {image.faces})" for image in behind))]
    ours, theirs = run.throughput(PIPELINE_LABEL, JPEG_GROUP), run.throughput(scaled, JPEG_GROUP)
    if ours and theirs and ours.images_per_s > 0 and theirs.images_per_s > 0:
        ratio = ours.images_per_s / theirs.images_per_s
        verdict = "**met**" if ratio >= 1 else "**missed**"
        lines.append(f"- **Default path's throughput >= deface --scale 640x360** (1080p JPEG): {ours.images_per_s:.2f} vs "
                     f"{theirs.images_per_s:.2f} img/s, {times(ratio)}: {verdict}")
    return lines


def totals_table(run: RecallRun) -> str:
    rows = [[group, run.totals(run.systems[0], group)[1], *(_found(run, system, group) for system in run.systems)]
            for group in run.groups()]
    if run.totals(run.systems[0])[1]:
        rows.append(["**all faces**", run.totals(run.systems[0])[1], *(_found(run, system) for system in run.systems)])
    return table(["group", "truth", *run.systems], rows)


def throughput_table(run: RecallRun) -> str:
    rows = [[t.group, t.system, t.images, t.wall_s, t.startup_s, t.images_per_s, t.raw_images_per_s, pct(t.others_cpu)]
            for t in sorted(run.throughputs, key=lambda t: (t.group != JPEG_GROUP, t.group))]
    return table(["images", "system", "n", "wall s", "start-up s", "img/s (net)", "img/s (raw)", "others' CPU"], rows)


def images_table(run: RecallRun) -> str:
    rows = []
    for image in run.images:
        cells = []
        for system in run.systems:
            changes = [change for change in image.changes.get(system, []) if change == change]
            weakest = f", min {min(changes):.1f}" if changes else ""
            cells.append(f"{image.found(system)}/{image.faces}{weakest}" + (f" ({image.errors[system]})" if system in image.errors else ""))
        rows.append([image.group, image.name, image.size, image.faces, *cells])
    return table(["group", "image", "size", "truth", *run.systems], rows)


def render(run: RecallRun, json_name: str) -> str:
    setup = "\n".join(f"| {key} | {value} |" for key, value in run.environment.items())
    config = run.configuration
    return "\n".join([
        f"# Face recall and throughput: `pipeline` beside deface {PEER_VERSION} ({run.started})", "",
        "```bash", ".venv/bin/python -m perf.peer setup   # once: deface in var/peer-venv",
        f".venv/bin/{run.command}", "```",
        f"Elapsed {run.elapsed_s / 60:.1f} min. Figures also in [{json_name}]({json_name}).", "",
        "| machine | |", "|---|---|", setup, "",
        "## Goals (issue 10)", *goals(run), "",
        "## Faces anonymised (recall pass, PNG in and out)",
        "`truth`: ground-truth boxes (faces; plates in the `plates` group, which `all faces` leaves out).", "",
        totals_table(run), "",
        "## Throughput", throughput_table(run), "",
        f"`{JPEG_GROUP}` is the throughput pass (each 1080p photo {config.get('copies')} times, JPEG quality 95, each "
        "system's default output); the other rows are the recall pass (PNG). Systems ran one after the other on the "
        "same cores. deface's `img/s (net)` leaves out its start-up (interpreter, imports, model load: its wall time on "
        "one 64x64 image, run alone), in its favour; `pipeline` ran against a warm server. `others' CPU`: the share of "
        "the cores other processes took during that measurement.", "",
        "## Every image", "`found/truth, min <change>`: the smallest change of a ground-truth box in uint8 levels (see below).", "",
        images_table(run), "",
        "## Configuration",
        f"- deface {PEER_VERSION} through its CLI with its defaults (threshold 0.2, `--mask-scale 1.3`, ellipse blur, "
        "ONNX Runtime CPU on every core), one process per folder: at full resolution (its default) and with "
        f"`--scale {config.get('peer_scale')}`. Threshold 0.2 is what its users get; the same CenterFace weights serve "
        "this product's `faces` model.",
        f"- `pipeline`: Triton gRPC, default request parameters (faces + the configured detectors, Gaussian blur), "
        f"{config.get('concurrency')} requests in flight; served: `{config.get('pipeline')}`."
        + ("".join(f" Variant `{v['name']}`: the same with request parameters `{v['parameters']}`."
                   for v in _variants(config))),
        f"- Suite: groups {', '.join(run.groups())}; {config.get('photos')} composed 1080p photos "
        f"(`perf/recall_suite.py`; `{PHOTOS}`); scenes and the crowd from `tests/scenes.py`, plates from "
        "`tests/plate_scenes.py`.",
        f"- A face counts as anonymised when the smallest of its ground-truth box's 2x2 quadrants has a mean absolute "
        f"difference (output vs input, RGB, uint8) of at least {run.threshold_levels:g} levels (`perf/recall_measure.py`); "
        "an output of another size, or none, anonymises nothing.", "",
        "## Notes", *([f"- {note}" for note in run.notes] or ["- none"]), "",
    ])


def _variants(config: dict[str, object]) -> list[dict[str, object]]:
    """The recorded variants of `pipeline` (a list of {"name", "parameters"}), none when absent."""
    variants = config.get("variants") or []
    if not isinstance(variants, list | tuple):
        raise TypeError(f"configuration variants must be a list, got {variants!r}")
    return list(variants)
