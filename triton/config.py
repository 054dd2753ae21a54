"""Launcher settings. Precedence: defaults < environment (TRITON_*) < explicit arguments.

The repository's variable is TRITON_MODEL_REPOSITORY (its old name MODEL_REPOSITORY is still
read, see triton_launcher.layout)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from triton_launcher.layout import DEFAULT_REPOSITORY, repository_setting

ENV_PREFIX = "TRITON_"


@dataclass(frozen=True)
class ServerConfig:
    """How to start tritonserver. A port of 0 means "pick a free one"."""

    model_repository: Path = DEFAULT_REPOSITORY
    host: str = "127.0.0.1"
    http_port: int = 0
    grpc_port: int = 0
    metrics_port: int = 0
    model_control: str = "explicit"
    model_config_name: str = "serving"
    """`--model-config-name`: a model folder's `configs/<name>.pbtxt`, where present, replaces its
    config.pbtxt. `python -m triton_launcher models swap|rollback` writes one to pin the served
    version durably; models without one use config.pbtxt. Empty: the flag is not passed."""
    load_models: tuple[str, ...] = ("*",)
    startup_timeout_s: float = 180.0
    log_verbose: int = 0
    supervise_stubs: bool = True
    """Reload a model whose Python stub died (see triton_launcher.supervisor); explicit model control only."""
    restart_on_exit: bool = True
    """Start tritonserver again (same ports) when it dies while the launcher runs."""
    exit_timeout_s: int = 30
    """`--exit-timeout-secs`: how long a stopping server waits for in-flight requests."""
    extra_args: tuple[str, ...] = field(default_factory=tuple)
    """More tritonserver flags; TRITON_EXTRA_ARGS is split into shell words."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ServerConfig:
        """Defaults, then TRITON_<FIELD> variables, then keyword overrides."""
        return _from_env(cls(), environ, overrides)


@dataclass(frozen=True)
class ControlSettings:
    """Where model control (`python -m triton_launcher models`, the gateway's admin routes) finds
    Triton and the repository. Precedence: defaults < TRITON_<FIELD> variables < explicit arguments."""

    grpc_url: str = "127.0.0.1:8001"
    model_repository: Path = DEFAULT_REPOSITORY
    model_config_name: str = "serving"
    default_model: str = "detect"
    """The model `swap`, `rollback`, `pin` act on when none is named."""
    ensemble: str = "pipeline"
    """The public ensemble; requests pinning a version are routed to its pinned copies."""
    load_timeout_s: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ControlSettings:
        """Defaults, then TRITON_<FIELD> variables, then keyword overrides."""
        return _from_env(cls(), environ, overrides)


_Settings = TypeVar("_Settings", ServerConfig, ControlSettings)


def _from_env(defaults: _Settings, environ: Mapping[str, str] | None, overrides: Mapping[str, object]) -> _Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for item in fields(defaults):
        raw = repository_setting(environ) if item.name == "model_repository" else environ.get(ENV_PREFIX + item.name.upper())
        if raw is not None:
            values[item.name] = _parse(item.name, raw)
    values.update({key: value for key, value in overrides.items() if value is not None})
    return replace(defaults, **values)


def _parse(name: str, raw: str) -> object:
    if name == "model_repository":
        return Path(raw)
    if name == "extra_args":  # shell words: `--backend-config=python,shm-default-byte-size=N` keeps its comma
        return tuple(shlex.split(raw))
    if name == "load_models":
        return tuple(part for part in raw.replace(",", " ").split() if part)
    if name in {"supervise_stubs", "restart_on_exit"}:
        return _parse_bool(name, raw)
    if name in {"http_port", "grpc_port", "metrics_port", "log_verbose", "exit_timeout_s"}:
        return int(raw)
    if name in {"startup_timeout_s", "load_timeout_s"}:
        return float(raw)
    return raw


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{ENV_PREFIX}{name.upper()} must be true or false, got {raw!r}")
