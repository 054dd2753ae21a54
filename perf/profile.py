"""py-spy on the Python-backend stubs of one tritonserver: where each model's time goes.

The stubs are the server's child processes, one per model instance; the server is found by the
``--grpc-port=`` on its command line, so other tritonservers on the machine are left alone.
py-spy samples without pausing them (``--nonblocking``) and writes collapsed stacks (``raw``).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

RATE_HZ = 50
NO_PYTHON_FRAME = "(native code, no Python frame)"


@dataclass(frozen=True)
class StubProfile:
    """One model's samples: how busy it was, and the functions that held the most samples."""

    model: str
    samples: int
    duration_s: float
    self_top: tuple[tuple[str, int], ...]  # (function, samples where it was the innermost frame)
    inclusive_top: tuple[tuple[str, int], ...]  # (function, samples where it was anywhere on the stack)
    raw_path: Path

    @property
    def busy(self) -> float:
        """Fraction of wall time the stub's threads were running (not idle)."""
        return self.samples / (RATE_HZ * self.duration_s) if self.duration_s else 0.0


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter or on PATH, None when not installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def stub_processes(grpc_port: int) -> dict[str, int]:
    """Model name -> PID of its stub, for the tritonserver listening on ``grpc_port``."""
    server = next((pid for pid, argv in _processes() if f"--grpc-port={grpc_port}" in argv), None)
    if server is None:
        return {}
    stubs = {}
    for pid, argv in _processes():
        if _parent(pid) == server and argv and argv[0].endswith("triton_python_backend_stub"):
            stubs[Path(argv[1]).parent.parent.name] = pid  # <repository>/<model>/<version>/model.py
    return stubs


def _processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            found.append((int(entry.name), [part for part in argv if part]))
    return found


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def start_recording(executable: str, stubs: dict[str, int], duration_s: float, out_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """One py-spy per stub, sampling for ``duration_s``; collect them with finish_recording()."""
    out_dir.mkdir(parents=True, exist_ok=True)
    recorders = {}
    for model, pid in stubs.items():
        command = [
            executable, "record", "--pid", str(pid), "--duration", str(max(1, round(duration_s))),
            "--rate", str(RATE_HZ), "--format", "raw", "--function", "--nonblocking",
            "--output", str(out_dir / f"{model}.txt"),
        ]
        recorders[model] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return recorders


def finish_recording(recorders: dict[str, subprocess.Popen[bytes]], duration_s: float, out_dir: Path) -> list[StubProfile]:
    profiles = []
    for model, process in recorders.items():
        try:
            _, errors = process.communicate(timeout=duration_s + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, errors = process.communicate()
        raw = out_dir / f"{model}.txt"
        if process.returncode != 0 or not raw.exists():
            logger.warning("py-spy on %s failed: %s", model, errors.decode(errors="replace")[-300:])
            continue
        profiles.append(summarise(model, raw, duration_s))
    return sorted(profiles, key=lambda profile: profile.model)


def summarise(model: str, raw: Path, duration_s: float, top: int = 8) -> StubProfile:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.strip().rpartition(" ")
        if not count.isdigit():
            continue
        frames = [frame.strip() for frame in stack.split(";") if frame.strip()] or [NO_PYTHON_FRAME]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            anywhere[frame] += int(count)
    return StubProfile(model, total, duration_s, tuple(own.most_common(top)), tuple(anywhere.most_common(top)), raw)
