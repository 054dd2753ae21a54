"""The machine and software a run used, as the report names them."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

from perf.perf_analyzer import WHEEL


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def gpu_names() -> list[str]:
    """NVIDIA GPUs nvidia-smi sees; empty without a driver."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, timeout=20, check=True
        )
    except (subprocess.SubprocessError, OSError):
        return []
    return [line.strip() for line in listing.stdout.splitlines() if line.strip()]


def hardware_tag() -> str:
    """Short name of the hardware for file names: cpu2, or gpu-h100 (first GPU's last word)."""
    gpus = gpu_names()
    if gpus:
        return "gpu-" + gpus[0].split()[-1].lower().replace("/", "-")
    return f"cpu{os.cpu_count()}"


def describe_environment() -> dict[str, str]:
    import numpy
    import onnxruntime

    gpus = gpu_names()
    return {
        "cpu": f"{os.cpu_count()} x {cpu_model()}",
        "memory": f"{memory_gib():.0f} GiB",
        "gpu": ", ".join(gpus) if gpus else "none",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": numpy.__version__,
        "perf_analyzer": f"from {WHEEL}",
    }
