"""report.md of a device run (perf/device_run.py) from its results.json: what ran, what it measured,
which of issue 13's targets were reached. A step that failed is reported with its error, never
as a figure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TARGET_JPEG_IMAGES_PER_S = 2000.0
TARGET_JPEG2000_SPEEDUP = 20.0


def write_report(results: Mapping[str, Any], path: Path) -> Path:
    path.write_text(render_report(results))
    return path


def render_report(results: Mapping[str, Any]) -> str:
    lines = [f"# Device run: {_gpu_name(results)}", "", f"Started {results.get('started', '?')}. Command: `{results.get('command', '?')}`", ""]
    lines += _environment(results.get("environment"))
    lines += _tests(results.get("gpu_tests"))
    lines += _pipeline(results.get("pipeline"))
    lines += _jpeg2000(results.get("jpeg2000"))
    lines += _gpu_codec(results.get("gpu_codec"))
    lines += _detectors(results.get("detectors"))
    lines += _targets(results)
    if results.get("step_seconds"):
        lines += ["", "Step times (s): " + ", ".join(f"{name} {value}" for name, value in results["step_seconds"].items())]
    return "\n".join(lines) + "\n"


def _gpu_name(results: Mapping[str, Any]) -> str:
    environment = results.get("environment") or {}
    return str(environment.get("gpu") or "no GPU found")


def _cpus(results: Mapping[str, Any]) -> int:
    return int((results.get("environment") or {}).get("cpus") or 1)


def _failed(section: str, value: Any) -> list[str] | None:
    if value is None:
        return [f"## {section}", "", "Not run.", ""]
    if isinstance(value, Mapping) and "error" in value:
        return [f"## {section}", "", f"Failed: `{value['error']}`", ""]
    return None


def _environment(value: Any) -> list[str]:
    failed = _failed("Machine", value)
    if failed:
        return failed
    keys = ("gpu", "nvidia_smi", "cpus", "python", "numpy", "torch", "cuda", "libpython", "unpacked")
    imports = value.get("imports") or {}
    lines = ["## Machine", "", *(f"- {key}: {value.get(key)}" for key in keys)]
    if imports:
        lines.append("- imports beside the carried numpy: " + ", ".join(f"{name} {version}" for name, version in imports.items()))
    return [*lines, ""]


def _tests(value: Any) -> list[str]:
    failed = _failed("gpu-marked tests", value)
    if failed:
        return failed
    return ["## gpu-marked tests", "", f"`{value['command']}`: exit status {value['exit_status']}, {value['summary']}", ""]


def _pipeline(value: Any) -> list[str]:
    failed = _failed("pipeline through Triton", value)
    if failed:
        return failed
    lines = ["## pipeline through Triton (decode, detect, plates, faces, blur, encode)", "",
             "| input | concurrency | img/s | p50 ms | p99 ms | errors | GPU util mean/peak % | GPU memory MiB |", "|---|---|---|---|---|---|---|---|"]
    for case in value:
        gpu = case.get("gpu", {})
        lines.append(f"| {case['input']} | {case['concurrency']} | {case['images_per_s']} | {case['p50_ms']} | {case['p99_ms']} | "
                     f"{case['errors']} | {gpu.get('util_mean', '-')}/{gpu.get('util_peak', '-')} | {gpu.get('memory_peak_mib', '-')} |")
    errors = [case for case in value if case.get("first_error")]
    if errors:
        lines += ["", f"First error ({errors[0]['input']}, concurrency {errors[0]['concurrency']}): `{errors[0]['first_error']}`"]
    if value:
        busiest = max(value, key=lambda case: case["images_per_s"])
        lines += ["", f"Per model at {busiest['input']}, concurrency {busiest['concurrency']} (Triton statistics, per request):", "",
                  "| model | requests | images per execution | queue ms | compute ms |", "|---|---|---|---|---|"]
        for model, split in sorted(busiest["models"].items()):
            lines.append(f"| {model} | {split['requests']} | {split['batch']} | {split['queue_ms']} | {split['compute_ms']} |")
    return [*lines, ""]


def _jpeg2000(value: Any) -> list[str]:
    failed = _failed("JPEG 2000 decode", value)
    if failed:
        return failed
    return [f"## JPEG 2000 decode ({value['images']})", "",
            "| decoder | img/s |", "|---|---|",
            f"| nvJPEG2000, batches of {value['gpu_batch']} (imaging.gpu_codec) | {value['gpu_images_per_s']} |",
            f"| OpenJPEG (Pillow), one core | {value['one_core_images_per_s']} |",
            f"| OpenJPEG (Pillow), {value['cores']} cores (a process each) | {value['all_cores_images_per_s']} |",
            "", f"GPU / all cores: {value['speedup_vs_all_cores']}x.", ""]


def _detectors(value: Any) -> list[str]:
    return _rows("Detectors in process", "Detectors in process (torch, as the GPU repository configures them; every pass of each 1080p photo)",
                 {"model": "model", "photos": "images", "img/s": "images_per_s"}, value)


def _gpu_codec(value: Any) -> list[str]:
    return _rows("GPU-resident decode, blur, encode (imaging.gpu_codec, in process)",
                 "GPU-resident decode, blur, encode (imaging.gpu_codec, in process, no Triton, no detection)",
                 {"batch": "batch", "images": "images", "img/s": "images_per_s"}, value)


def _rows(section: str, heading: str, columns: Mapping[str, str], value: Any) -> list[str]:
    """A section that is one table, a row per measured case: ``columns`` maps each header to its key."""
    failed = _failed(section, value)
    if failed:
        return failed
    lines = [f"## {heading}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[key]) for key in columns.values()) + " |" for row in value]
    return [*lines, ""]


def _targets(results: Mapping[str, Any]) -> list[str]:
    pipeline = results.get("pipeline")
    best = None
    if isinstance(pipeline, list):
        jpeg = [case["images_per_s"] for case in pipeline if case["input"] == "1080p JPEG" and not case["errors"]]
        best = max(jpeg) if jpeg else None
    decode = results.get("jpeg2000")
    speedup = decode.get("speedup_vs_all_cores") if isinstance(decode, Mapping) else None
    cpus = _cpus(results)
    lines = ["## Targets (issue 13)", ""]
    lines.append(_target(f"1080p JPEG end to end >= {TARGET_JPEG_IMAGES_PER_S:.0f} img/s", best, TARGET_JPEG_IMAGES_PER_S, "img/s (best error-free case)"))
    lines.append(_target(f"JPEG 2000 decode >= {TARGET_JPEG2000_SPEEDUP:.0f}x OpenJPEG on the host's {cpus} cores", speedup,
                         TARGET_JPEG2000_SPEEDUP, "x"))
    return lines


def _target(name: str, value: float | None, goal: float, unit: str) -> str:
    if value is None or math.isnan(value):
        return f"- {name}: not measured"
    return f"- {name}: {'reached' if value >= goal else 'not reached'}, {value:.1f} {unit}"
