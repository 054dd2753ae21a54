"""The stub supervisor's reading of the process table, with real processes standing in for stubs
(a Python child whose argv looks like tritonserver's `triton_python_backend_stub` command)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from triton_launcher.errors import ModelLoadError
from triton_launcher.stubs import STUB_NAME, is_dead, process_state, stub_processes
from triton_launcher.supervisor import StubSupervisor


def fake_stub(root: Path, model: str) -> subprocess.Popen[bytes]:
    """A sleeping child of this process with a stub's arguments (model file, ..., instance name)."""
    script = root / model / "1" / "model.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("import time\ntime.sleep(120)\n")
    args = [str(root / STUB_NAME), str(script), "shm", "1048576", "1048576", str(os.getpid()), str(root), "336",
            f"{model}_0_0", "DEFAULT", ""]
    return subprocess.Popen(args, executable=sys.executable)


@pytest.fixture
def stubs(tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    started = {model: fake_stub(tmp_path, model) for model in ("decode", "encode")}
    yield started
    for process in started.values():
        process.kill()
        process.wait()


class Reloads:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[str] = []
        self.fail_first = fail_first

    def __call__(self, model: str) -> bool:
        self.calls.append(model)
        if len(self.calls) <= self.fail_first:
            raise ModelLoadError(f"Triton could not load {model}")
        return True


def wait_for_state(pid: int, state: str) -> None:
    deadline = time.monotonic() + 10
    while process_state(pid)[0] != state and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process_state(pid)[0] == state


def test_stub_processes_name_model_and_instance(stubs: dict[str, subprocess.Popen[bytes]]) -> None:
    found = {stub.model: stub for stub in stub_processes(os.getpid())}
    assert {model: (stub.pid, stub.instance) for model, stub in found.items()} == {
        "decode": (stubs["decode"].pid, "decode_0_0"), "encode": (stubs["encode"].pid, "encode_0_0"),
    }
    assert stub_processes(stubs["decode"].pid) == []  # children of another process only


def test_a_zombie_stub_seen_twice_reloads_its_model_once(stubs: dict[str, subprocess.Popen[bytes]]) -> None:
    reloads = Reloads()
    supervisor = StubSupervisor(os.getpid(), reloads)
    supervisor.check()
    os.kill(stubs["decode"].pid, signal.SIGKILL)  # not reaped: a zombie, as tritonserver leaves it
    wait_for_state(stubs["decode"].pid, "Z")
    supervisor.check()
    assert reloads.calls == []  # one look is not enough: an unload's stub is reaped within milliseconds
    supervisor.check()
    supervisor.check()
    assert reloads.calls == ["decode"] and supervisor.reloaded == ["decode"]
    assert is_dead(stubs["decode"].pid) and not is_dead(stubs["encode"].pid)


def test_a_reaped_stub_is_an_unload_not_a_crash(stubs: dict[str, subprocess.Popen[bytes]]) -> None:
    reloads = Reloads()
    supervisor = StubSupervisor(os.getpid(), reloads)
    supervisor.check()
    stubs["encode"].terminate()
    stubs["encode"].wait()  # reaped, as Triton reaps the stub of a model it unloads
    supervisor.check()
    supervisor.check()
    assert reloads.calls == []


def test_a_failed_reload_is_tried_again(stubs: dict[str, subprocess.Popen[bytes]]) -> None:
    reloads = Reloads(fail_first=1)
    supervisor = StubSupervisor(os.getpid(), reloads, retry_s=0.1)
    supervisor.check()
    os.kill(stubs["decode"].pid, signal.SIGKILL)
    wait_for_state(stubs["decode"].pid, "Z")
    supervisor.check()
    supervisor.check()
    assert reloads.calls == ["decode"] and supervisor.reloaded == []
    time.sleep(0.15)
    supervisor.check()
    assert reloads.calls == ["decode", "decode"] and supervisor.reloaded == ["decode"]
