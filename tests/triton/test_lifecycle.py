"""The launcher owns its ports and its children: a taken port is named, readiness is our child's,
and tritonserver (with its stubs) dies with the process that started it, even on SIGKILL."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from triton_launcher import PortInUseError, ServerConfig, TritonServer
from triton_launcher import server as server_module
from triton_launcher.ports import holder, is_free, require_free
from triton_launcher.stubs import is_dead, stub_processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener() -> Iterator[int]:
    """A port this test process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def wait_until(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def test_a_taken_port_names_its_holder(listener: int) -> None:
    assert not is_free("127.0.0.1", listener)
    assert holder(listener).startswith(f"pid {os.getpid()} (")
    with pytest.raises(PortInUseError, match=rf"gateway port 127.0.0.1:{listener} is already in use by pid {os.getpid()} "):
        require_free({"gateway": listener}, "127.0.0.1")


def test_server_refuses_a_taken_port_before_starting_anything(listener: int, tmp_path: Path) -> None:
    server = TritonServer(ServerConfig(model_repository=tmp_path, model_control="none", http_port=listener))
    started = time.monotonic()
    with pytest.raises(PortInUseError, match=rf"Triton HTTP port 127.0.0.1:{listener} is already in use by pid {os.getpid()}"):
        server.start()
    assert time.monotonic() - started < 5 and server.pid is None


class _AlwaysReady(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.server
def test_ready_means_our_child_not_whoever_answers_on_the_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old bug: another server answering /v2/health/ready on our port made a failed start look ready."""
    impostor = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysReady)
    threading.Thread(target=impostor.serve_forever, daemon=True).start()
    monkeypatch.setattr(server_module, "require_free", lambda ports, host: None)  # as if taken just after the check
    port = impostor.server_address[1]
    server = TritonServer(ServerConfig(model_repository=tmp_path, model_control="none", http_port=port))
    try:
        with pytest.raises(PortInUseError, match=rf"Triton HTTP port 127.0.0.1:{port} is already in use by pid {os.getpid()}"):
            server.start()
        assert not server.is_running()
    finally:
        impostor.shutdown()
        impostor.server_close()


CHILD = """
import sys, time
from pathlib import Path
from triton_launcher import ServerConfig, TritonServer
server = TritonServer(ServerConfig(model_repository=Path(sys.argv[1]), load_models=("decode",))).start()
print(server.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.server
def test_tritonserver_and_its_stubs_die_when_the_launcher_is_killed() -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROOT / "model_repository")], cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        triton_pid = int((launcher.stdout or []).readline())
        stubs = [stub.pid for stub in stub_processes(triton_pid)]
        assert [stub.model for stub in stub_processes(triton_pid)] == ["decode"]
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
        assert wait_until(lambda: all(is_dead(pid) for pid in [triton_pid, *stubs]), 30), "tritonserver or a stub outlived it"
    finally:
        launcher.kill()
        launcher.wait()


def test_launcher_command_with_a_taken_port_says_who_holds_it(listener: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "triton_launcher", "--http-port", str(listener)], cwd=ROOT, text=True,
        capture_output=True, timeout=60,
    )
    assert done.returncode == 1
    assert f"error: Triton HTTP port 127.0.0.1:{listener} is already in use by pid {os.getpid()} (" in done.stderr
    assert "Triton ready" not in done.stdout


def test_supervision_and_restart_switches_from_the_environment() -> None:
    config = ServerConfig.from_env({"TRITON_SUPERVISE_STUBS": "false", "TRITON_RESTART_ON_EXIT": "0", "TRITON_EXIT_TIMEOUT_S": "5"})
    assert (config.supervise_stubs, config.restart_on_exit, config.exit_timeout_s) == (False, False, 5)
    assert ServerConfig.from_env({}).supervise_stubs and ServerConfig.from_env({}).restart_on_exit
    with pytest.raises(ValueError, match="TRITON_RESTART_ON_EXIT must be true or false"):
        ServerConfig.from_env({"TRITON_RESTART_ON_EXIT": "maybe"})
