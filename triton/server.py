"""Run tritonserver as a child process that is honestly ours: free ports, readiness, clean stop.

- Ports: each one is checked before the start; a taken one raises PortInUseError naming the
  process that holds it (a second instance must not talk to the first one's server).
- Ready means: our child is alive, its log says it bound *our* HTTP, gRPC and metrics ports, and
  /v2/health/ready answers 200.
- The child runs in its own session (process group, stubs included) and gets SIGTERM when the
  thread that started it dies (PR_SET_PDEATHSIG), even if this process is killed with SIGKILL.
  stop() sends SIGINT, SIGKILL after a timeout, then SIGKILL to whatever is left of its group.
- A watcher thread (alive from start() to stop()) looks twice a second: a tritonserver that died
  is started again on the same ports (``restart_on_exit``; after 1, 2, 4 ... 30 s while it keeps
  failing), and with explicit model control a StubSupervisor reloads models whose stub died.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from triton_launcher.config import ControlSettings, ServerConfig
from triton_launcher.distribution import ServerDistribution, assemble_backends, find_distribution
from triton_launcher.errors import LauncherError, PortInUseError, ServerExitedError, ServerStartTimeout
from triton_launcher.ports import free_port, holder, require_free
from triton_launcher.process import ServerLog, die_with_parent, kill_group
from triton_launcher.repository import ModelRepository
from triton_launcher.supervisor import StubSupervisor

logger = logging.getLogger(__name__)

__all__ = ["TritonServer", "free_port"]

WATCH_INTERVAL_S = 0.5
RESTART_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


class TritonServer:
    """One tritonserver process; use as a context manager or call start() / stop()."""

    def __init__(self, config: ServerConfig | None = None, *, log_path: Path | None = None) -> None:
        self.config = config or ServerConfig.from_env()
        self._log_path = log_path
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: ServerLog | None = None
        self._distribution: ServerDistribution | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.supervisor: StubSupervisor | None = None
        self.restarts = 0
        """How many times the watcher started tritonserver again after it died."""

    @property
    def http_url(self) -> str:
        return f"{self.config.host}:{self.config.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.config.host}:{self.config.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.config.host}:{self.config.metrics_port}/metrics"

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> TritonServer:
        """Start the server and block until it reports ready; PortInUseError when a port is taken."""
        self._distribution = find_distribution()
        self.config = self._with_ports(self.config)
        if self.config.model_config_name:
            ModelRepository(self.config.model_repository, self.config.model_config_name).refresh()
        self._workdir = Path(tempfile.mkdtemp(prefix="tritonserver-"))
        if self._log_path is None:
            self._log_path = self._workdir / "tritonserver.log"
        self._stopping.clear()
        try:
            self._launch()
        except BaseException:  # a clash, a timeout, or SIGINT/SIGTERM while waiting: never leave it behind
            self.stop()
            raise
        if self.config.restart_on_exit or self.supervisor is not None:
            self._watcher = threading.Thread(target=self._watch, name="tritonserver-watcher", daemon=True)
            self._watcher.start()
        return self

    def _launch(self) -> None:
        """Check the ports, start the child in its own session, wait until it is ready, supervise its stubs."""
        if self._distribution is None or self._workdir is None or self._log_path is None:
            raise LauncherError("start() prepares the launch")
        require_free(self._ports(), self.config.host)
        backends = assemble_backends(self._distribution, self._workdir / "backends")
        command = self._command(self._distribution, backends)
        logger.info("starting %s", " ".join(command))
        self._log = ServerLog(self._log_path)
        with open(self._log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self._environment(self._distribution),
                start_new_session=True, preexec_fn=die_with_parent(),
            )
        self.wait_ready(self.config.startup_timeout_s)
        self.supervisor = self._stub_supervisor(self._process.pid)
        if self.supervisor is not None:
            self.supervisor.check()  # learn the stubs now: one killed before the watcher's first look counts too
        logger.info("tritonserver ready (pid %d): http %s, grpc %s", self._process.pid, self.http_url, self.grpc_url)

    def wait_ready(self, timeout_s: float) -> None:
        """Until our child bound its ports and answers ready; raise if it dies, clashes or times out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._stopping.is_set():
                raise LauncherError("stopped while waiting for tritonserver")
            self._raise_if_exited()
            clash = self._log.clash() if self._log is not None else None
            if clash is not None:
                raise self._clash(clash)
            if self._bound() and self.is_ready():
                return
            time.sleep(0.25)
        raise ServerStartTimeout(f"tritonserver not ready after {timeout_s:.0f} s; log: {self._log_path}\n{self.log_tail()}")

    def is_ready(self) -> bool:
        """Our child is running and /v2/health/ready answers 200."""
        if not self.is_running():
            return False
        try:
            with urllib.request.urlopen(f"http://{self.http_url}/v2/health/ready", timeout=2) as reply:
                return reply.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGINT (Triton's graceful shutdown), SIGKILL after timeout_s, then SIGKILL to its leftover group."""
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=self.config.startup_timeout_s + timeout_s)
            self._watcher = None
        self.supervisor = None
        self._terminate(timeout_s)
        if self._workdir is not None:
            shutil.rmtree(self._workdir / "backends", ignore_errors=True)

    def _terminate(self, timeout_s: float) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)
                try:
                    self._process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    logger.warning("tritonserver ignored SIGINT for %.0f s; killing it", timeout_s)
                    self._process.kill()
                    self._process.wait()
            kill_group(self._process.pid)
        self._process = None

    def wait(self) -> int:
        """Block until the server exits for good (foreground use); returns its exit status.

        With ``restart_on_exit`` a server that dies is started again, so this blocks until stop().
        """
        while True:
            process = self._process
            if process is None:
                raise LauncherError("tritonserver is not running")
            status = process.wait()
            if not self.config.restart_on_exit or self._stopping.is_set():
                return status
            while self._process is process and not self._stopping.is_set():
                time.sleep(WATCH_INTERVAL_S)

    def _watch(self) -> None:
        """Until stop(): restart a dead server, let the stub supervisor look."""
        failures = 0
        while not self._stopping.wait(WATCH_INTERVAL_S):
            if self.config.restart_on_exit and not self.is_running():
                failures = 0 if self._restart(failures) else failures + 1
                continue
            if self.supervisor is not None:
                try:
                    self.supervisor.check()
                except Exception:  # noqa: BLE001 - the watcher must outlive any one bad look
                    logger.exception("stub supervisor: check failed")

    def _restart(self, failures: int) -> bool:
        """Start tritonserver again after a pause; True once it is ready."""
        status = self._process.returncode if self._process is not None else None
        delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
        logger.error("tritonserver exited (status %s); starting it again in %.0f s on the same ports", status, delay)
        self._terminate(timeout_s=0)
        self.supervisor = None
        if self._stopping.wait(delay):
            return False
        try:
            self._launch()
        except LauncherError as error:
            logger.error("tritonserver restart failed: %s", error)
            self._terminate(timeout_s=5)
            return False
        self.restarts += 1
        return True

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    def _stub_supervisor(self, server_pid: int) -> StubSupervisor | None:
        if not self.config.supervise_stubs or self.config.model_control != "explicit":
            return None
        from triton_launcher.control import ModelControl  # tritonclient: imported only when supervising

        settings = ControlSettings.from_env(
            grpc_url=self.grpc_url, model_repository=self.config.model_repository,
            model_config_name=self.config.model_config_name,
        )
        control = ModelControl(settings)

        def reload(model: str) -> bool:
            if not control.ready_versions(model):
                return False
            control.reload(model)
            return True

        return StubSupervisor(server_pid, reload)

    def _ports(self) -> dict[str, int]:
        config = self.config
        return {"Triton HTTP": config.http_port, "Triton gRPC": config.grpc_port, "Triton metrics": config.metrics_port}

    def _bound(self) -> bool:
        config = self.config
        ports = {"HTTP": config.http_port, "gRPC": config.grpc_port, "metrics": config.metrics_port}
        return self._log is not None and self._log.bound(config.host, ports)

    def _clash(self, line: str) -> PortInUseError:
        taken = [(label, port) for label, port in self._ports().items() if str(port) in line] or list(self._ports().items())
        label, port = taken[0]
        return PortInUseError(f"{label} port {self.config.host}:{port} is already in use by {holder(port)}: {line}", port)

    def _raise_if_exited(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise ServerExitedError(f"tritonserver exited with status {self._process.returncode}\n{self.log_tail()}")

    def _with_ports(self, config: ServerConfig) -> ServerConfig:
        ports: dict[str, Any] = {name: getattr(config, name) or free_port(config.host) for name in ("http_port", "grpc_port", "metrics_port")}
        return replace(config, **ports)

    @staticmethod
    def _environment(distribution: ServerDistribution) -> dict[str, str]:
        """The venv's bin/ first on PATH so the stub imports this interpreter's packages."""
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        libraries = [str(distribution.libraries), env.get("LD_LIBRARY_PATH", "")]
        env["LD_LIBRARY_PATH"] = os.pathsep.join(part for part in libraries if part)
        return env

    def _command(self, distribution: ServerDistribution, backends: Path) -> list[str]:
        config = self.config
        command = [
            str(distribution.binary),
            f"--model-repository={config.model_repository.resolve()}",
            f"--backend-directory={backends}",
            f"--http-address={config.host}",
            f"--grpc-address={config.host}",
            f"--metrics-address={config.host}",
            f"--http-port={config.http_port}",
            f"--grpc-port={config.grpc_port}",
            f"--metrics-port={config.metrics_port}",
            f"--model-control-mode={config.model_control}",
            f"--log-verbose={config.log_verbose}",
            f"--exit-timeout-secs={config.exit_timeout_s}",
        ]
        if config.model_control == "explicit":
            command += [f"--load-model={name}" for name in config.load_models]
        if config.model_config_name:
            command.append(f"--model-config-name={config.model_config_name}")
        return command + list(config.extra_args)

