"""The systems under test as child processes on free ports: Triton, the gateway, the baseline."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from perf.errors import ServiceStartError
from triton_launcher import ServerConfig, TritonServer
from triton_launcher.server import free_port

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def triton(repository: Path, log_path: Path) -> Iterator[TritonServer]:
    """tritonserver on free ports serving ``repository`` (every model loaded)."""
    config = ServerConfig.from_env(model_repository=repository, http_port=0, grpc_port=0, metrics_port=0)
    with TritonServer(config, log_path=log_path) as server:
        yield server


@contextmanager
def http_service(
    command: Sequence[str], ready_path: str, port: int, log_path: Path, environment: Mapping[str, str] | None = None,
    startup_timeout_s: float = 120.0,
) -> Iterator[str]:
    """Run ``command`` (which must listen on ``port``), yield its base URL once ``ready_path`` answers 200."""
    base_url = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(command), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(environment or {})}
        )
    try:
        _wait_ready(process, base_url + ready_path, startup_timeout_s, log_path)
        yield base_url
    finally:
        _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceStartError(f"{url} exited with {process.returncode}; log {log_path}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise ServiceStartError(f"{url} not ready after {timeout_s:.0f} s; log {log_path}:\n{_tail(log_path)}")


def _stop(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@contextmanager
def baseline(repository: Path, log_path: Path) -> Iterator[str]:
    """The in-process FastAPI baseline (perf.baseline), base URL."""
    port = free_port()
    command = [sys.executable, "-m", "perf.baseline", "--port", str(port), "--model-repository", str(repository)]
    with http_service(command, "/health", port, log_path) as url:
        yield url


@contextmanager
def gateway(triton_url: str, storage: Path, max_in_flight: int, log_path: Path) -> Iterator[str]:
    """The project's gateway in front of the Triton at ``triton_url``, base URL.

    GATEWAY_MAX_IN_FLIGHT is raised to the highest concurrency measured: its default (8) would
    answer 429 to the rest, and we measure the path, not the admission limit.
    """
    port = free_port()
    command = [sys.executable, "-m", "gateway", "--triton-url", triton_url, "--port", str(port), "--storage-url", str(storage)]
    environment = {"GATEWAY_MAX_IN_FLIGHT": str(max_in_flight), "GATEWAY_LOG_LEVEL": "WARNING"}
    with http_service(command, "/readyz", port, log_path, environment) as url:
        yield url
