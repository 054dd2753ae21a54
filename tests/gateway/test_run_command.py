"""`python -m gateway` owns its ports and its Triton: a second instance prints one line naming
what holds the port and exits 1; it claims ready only once the canary passed (here the pipeline
is not loaded, so it says NOT READY instead); SIGTERM (systemd, Kubernetes) and SIGINT stop the
gateway and its tritonserver with its stubs; kill -9 of the gateway takes them down too
(PR_SET_PDEATHSIG)."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.__main__ import own_triton
from gateway.core.config import Settings
from tests.gateway.conftest import free_port
from tests.gateway.test_main import lines_of
from triton_launcher.ports import command_line
from triton_launcher.stubs import is_dead, process_state, stub_processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ, "GATEWAY_PORT": str(free_port()), "GATEWAY_STORAGE_URL": str(tmp_path / "storage"),
        "TRITON_HTTP_PORT": str(free_port()), "TRITON_GRPC_PORT": str(free_port()), "TRITON_METRICS_PORT": str(free_port()),
        **extra,
    }


def run_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, text=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("variable", ["GATEWAY_PORT", "TRITON_HTTP_PORT", "TRITON_GRPC_PORT"])
def test_a_taken_port_is_one_line_naming_its_holder(tmp_path: Path, taken_port: int, variable: str) -> None:
    done = run_once(environment(tmp_path, **{variable: str(taken_port)}))
    output = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 1
    assert len(output) == 1, output
    assert f"127.0.0.1:{taken_port} is already in use by pid {os.getpid()} (" in output[0]
    assert output[0].startswith("cannot start: ")


@pytest.mark.parametrize(("urls", "named"), [("127.0.0.1:8001,garbage", "'garbage'"), ("127.0.0.1:0", "'127.0.0.1:0'")])
def test_a_malformed_triton_address_is_one_line_naming_it(tmp_path: Path, urls: str, named: str) -> None:
    done = run_once(environment(tmp_path, GATEWAY_TRITON_URLS=urls))
    output = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 1
    assert len(output) == 1, output  # not uvicorn's traceback from the lifespan
    assert output[0].startswith("cannot start: ") and named in output[0] and "GATEWAY_TRITON_URLS" in output[0]


def test_sigterm_stops_a_gateway_still_waiting_for_nats_at_startup(tmp_path: Path) -> None:
    nobody = f"nats://127.0.0.1:{free_port()}"  # nats-py retries a first connection forever
    env = environment(tmp_path, GATEWAY_NATS_URL=nobody, GATEWAY_TRITON_URL=f"127.0.0.1:{free_port()}", GATEWAY_START_TRITON="false")
    process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_line(lines_of(process), nobody.removeprefix("nats://"), 30)  # retrying inside the app's startup
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()


def test_the_launcher_it_starts_reloads_crashed_models_not_the_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_SUPERVISE_STUBS", raising=False)
    assert own_triton(Settings(start_triton=True)) == {"reload_crashed_models": False}
    assert own_triton(Settings(start_triton=False)) == {}  # a Triton started elsewhere: the gateway reloads
    monkeypatch.setenv("TRITON_SUPERVISE_STUBS", "false")
    assert own_triton(Settings(start_triton=True)) == {}


def wait_for_line(lines: queue.Queue[str], text: str, timeout_s: float) -> list[str]:
    """The lines up to and including the first that holds ``text``."""
    deadline, seen = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        if text in seen[-1]:
            return seen
    raise AssertionError(f"no line with {text!r}:\n" + "".join(seen[-30:]))


def children(pid: int, name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and process_state(int(entry))[1] == pid and name in command_line(int(entry)):
            found.append(int(entry))
    return found


@pytest.mark.server
@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)])
def test_the_gateway_takes_its_triton_and_stubs_with_it(tmp_path: Path, signal_number: int, status: int) -> None:
    env = environment(tmp_path, TRITON_LOAD_MODELS="decode", GATEWAY_CANARY_TIMEOUT_S="1")  # one model: a fast start
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway"], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        seen = wait_for_line(lines_of(gateway), "NOT READY", timeout_s=120)
        # pipeline is not loaded: the backend stays out (not ready), so no canary is sent to it
        assert "pipeline: canary not run" in seen[-1] and "model 'pipeline'" in seen[-1], seen[-3:]
        assert not any("Gateway ready" in line for line in seen), seen[-3:]
        [triton] = children(gateway.pid, "tritonserver")
        stubs = [stub.pid for stub in stub_processes(triton)]
        assert len(stubs) == 1
        gateway.send_signal(signal_number)
        assert gateway.wait(timeout=60) == status
        deadline = time.monotonic() + 30
        while not all(is_dead(pid) for pid in [triton, *stubs]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(is_dead(pid) for pid in [triton, *stubs]), "tritonserver or a stub outlived the gateway"
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
