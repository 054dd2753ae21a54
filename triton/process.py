"""The child process plumbing of the launcher: dying with the parent, killing what is left of a
process group, and reading what *our* tritonserver wrote to its log (Linux)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path

PR_SET_PDEATHSIG = 1
BOUND_LINES = {"HTTP": "Started HTTPService at {}", "gRPC": "Started GRPCInferenceService at {}", "metrics": "Started Metrics Service at {}"}
PORT_CLASH = "already in use"


def die_with_parent(signal_number: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets ``signal_number`` when the thread that started it dies.

    Linux ``prctl(PR_SET_PDEATHSIG)``; it fires even when the parent is killed with SIGKILL.
    """
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork
    parent = os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal_number)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return in_child


def kill_group(group: int) -> None:
    """SIGKILL what is left of process group ``group`` (stubs that outlived their server)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


class ServerLog:
    """tritonserver's log from the offset where our child started writing (a reused file holds more)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = path.stat().st_size if path.exists() else 0

    def text(self) -> str:
        if not self.path.exists():
            return ""
        with open(self.path, "rb") as log:
            log.seek(self.start)
            return log.read().decode(errors="replace")

    def bound(self, host: str, ports: Mapping[str, int]) -> bool:
        """Whether the log says the server listens on each of ``ports`` (``HTTP``, ``gRPC``, ``metrics``)."""
        text = self.text()
        return all(BOUND_LINES[name].format(f"{host}:{port}") in text for name, port in ports.items())

    def clash(self) -> str | None:
        """The log line saying a port was already in use, if any."""
        return next((line.strip() for line in self.text().splitlines() if PORT_CLASH in line), None)
