"""The Python backend's stub processes of one tritonserver, read from the process table (Linux).

Each Python model instance runs in a ``triton_python_backend_stub`` child of tritonserver whose
arguments name the model file (``<repository>/<model>/<version>/model.py``) and the instance
(``decode_0_0``). Measured on Triton 2.51: a stub killed by a signal stays a zombie (tritonserver
does not reap it) and every request to that instance then fails with "Stub process 'decode_0_0'
is not healthy" while Triton still reports the model ready; a stub ended by an unload is reaped.
So a zombie stub is a dead one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from triton_launcher.ports import pids

STUB_NAME = "triton_python_backend_stub"
_PROC = Path("/proc")
_MODEL_FILE_ARG, _INSTANCE_ARG = 1, 8


@dataclass(frozen=True)
class StubProcess:
    """One stub: its pid, the model it serves and the Triton instance name."""

    pid: int
    model: str
    instance: str


def stub_processes(server_pid: int) -> list[StubProcess]:
    """The live (not zombie) stubs whose parent is ``server_pid``."""
    stubs = []
    for entry in pids():
        state, parent = process_state(int(entry))
        if parent != server_pid or state in ("", "Z"):
            continue
        stub = _stub(int(entry))
        if stub is not None:
            stubs.append(stub)
    return stubs


def process_state(pid: int) -> tuple[str, int]:
    """(state letter, parent pid) from ``/proc/<pid>/stat``; ("", 0) when the process is gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return "", 0
    fields = stat.rsplit(")", 1)[1].split()  # the command name in parentheses may hold spaces
    return fields[0], int(fields[1])


def is_dead(pid: int) -> bool:
    """The process is a zombie or gone."""
    return process_state(pid)[0] in ("", "Z")


def _stub(pid: int) -> StubProcess | None:
    try:
        args = [arg.decode(errors="replace") for arg in (_PROC / str(pid) / "cmdline").read_bytes().split(b"\0")]
    except OSError:
        return None
    if not args or not args[0].endswith(STUB_NAME) or len(args) <= _INSTANCE_ARG:
        return None
    return StubProcess(pid, Path(args[_MODEL_FILE_ARG]).parent.parent.name, args[_INSTANCE_ARG])
