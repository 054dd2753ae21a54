"""The machine, the code and the peer a recall run used, as its report names them."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from perf.environment import cpu_model, gpu_names, memory_gib

ROOT = Path(__file__).resolve().parent.parent
PEER_PACKAGES = ("deface", "onnxruntime", "numpy", "opencv-python", "imageio")


def git_commit() -> str:
    """HEAD's short hash, '+ changes' when the working tree differs from it; 'unknown' outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def peer_versions(venv_dir: Path) -> str:
    """'deface 1.5.0, onnxruntime 1.x, ...' as installed in the peer's venv."""
    code = ("import importlib.metadata as m, sys\n"
            "print(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))")
    done = subprocess.run([str(venv_dir / "bin" / "python"), "-c", code, *PEER_PACKAGES], capture_output=True, text=True,
                          timeout=120, check=False)
    return done.stdout.strip() if done.returncode == 0 else f"unknown ({done.stderr.strip()[-200:]})"


def describe(peer_venv: Path | None) -> dict[str, str]:
    import numpy
    import onnxruntime

    gpus = gpu_names()
    environment = {
        "cpu": f"{os.cpu_count()} x {cpu_model()} (nproc {len(os.sched_getaffinity(0))})",
        "memory": f"{memory_gib():.0f} GiB",
        "gpu": ", ".join(gpus) if gpus else "none",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "project": f"commit {git_commit()}, onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}",
    }
    if peer_venv is not None:
        environment["peer"] = peer_versions(peer_venv)
    return environment
