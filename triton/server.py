"""Run tritonserver as a child process: free ports, environment, readiness, clean stop."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from triton_launcher.config import ServerConfig
from triton_launcher.distribution import ServerDistribution, assemble_backends, find_distribution
from triton_launcher.errors import LauncherError, ServerExitedError, ServerStartTimeout
from triton_launcher.repository import ModelRepository

logger = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class TritonServer:
    """One tritonserver process; use as a context manager or call start() / stop()."""

    def __init__(self, config: ServerConfig | None = None, *, log_path: Path | None = None) -> None:
        self.config = config or ServerConfig.from_env()
        self._log_path = log_path
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

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

    def start(self) -> TritonServer:
        """Start the server and block until it reports ready."""
        distribution = find_distribution()
        self.config = self._with_ports(self.config)
        if self.config.model_config_name:
            ModelRepository(self.config.model_repository, self.config.model_config_name).refresh()
        self._workdir = Path(tempfile.mkdtemp(prefix="tritonserver-"))
        backends = assemble_backends(distribution, self._workdir / "backends")
        if self._log_path is None:
            self._log_path = self._workdir / "tritonserver.log"
        command = self._command(distribution, backends)
        logger.info("starting %s", " ".join(command))
        environment = self._environment(distribution)
        with open(self._log_path, "ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        try:
            self.wait_ready(self.config.startup_timeout_s)
        except LauncherError:
            self.stop()
            raise
        logger.info("tritonserver ready: http %s, grpc %s", self.http_url, self.grpc_url)
        return self

    def wait_ready(self, timeout_s: float) -> None:
        """Poll /v2/health/ready until it answers 200, the process dies, or time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._raise_if_exited()
            if self.is_ready():
                return
            time.sleep(0.25)
        raise ServerStartTimeout(f"tritonserver not ready after {timeout_s:.0f} s; log: {self._log_path}\n{self.log_tail()}")

    def is_ready(self) -> bool:
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
        """SIGINT (Triton's graceful shutdown), then SIGKILL after timeout_s."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("tritonserver ignored SIGINT for %.0f s; killing it", timeout_s)
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir / "backends", ignore_errors=True)

    def wait(self) -> int:
        """Block until the server exits (foreground use); returns its exit status."""
        if self._process is None:
            raise LauncherError("tritonserver is not running")
        return self._process.wait()

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    def _raise_if_exited(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise ServerExitedError(f"tritonserver exited with status {self._process.returncode}\n{self.log_tail()}")

    def _with_ports(self, config: ServerConfig) -> ServerConfig:
        ports = {name: getattr(config, name) or free_port(config.host) for name in ("http_port", "grpc_port", "metrics_port")}
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
        ]
        if config.model_control == "explicit":
            command += [f"--load-model={name}" for name in config.load_models]
        if config.model_config_name:
            command.append(f"--model-config-name={config.model_config_name}")
        return command + list(config.extra_args)
