"""Swap, roll back, pin and list model versions on a running Triton (EXPLICIT model control).

How a swap works, and why no request fails (measured on Triton 2.51, see tests/triton/test_control.py):
the served versions of a model are fixed in a generated `<model>/configs/<config name>.pbtxt`
(see triton_launcher.repository), then `load` asks Triton to re-read the model. Triton loads the
new version while the old one keeps serving, reloads the ensembles that use the model (the new
ensemble is ready before the old one is released), then unloads the old version once its
in-flight requests are done. A version that fails to load leaves the old one serving; the
serving config is put back so that disk and server agree.

Never `unload` a composing model to swap it: Triton then takes every ensemble using it down
until it is loaded again (server#4828); `unload` refuses unless forced. Triton's load-time
`config` override is not used either: loading an ensemble re-reads its composing models from
disk, silently undoing an override (observed on 2.51), so the choice must live on disk.

Blocking and thread-safe; from asyncio, call the methods through `asyncio.to_thread`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from triton_launcher.config import ControlSettings
from triton_launcher.errors import (
    ComposingModelError,
    ControlUnavailableError,
    ModelControlError,
    ModelLoadError,
    NothingToRollBackError,
    VersionNotPinnedError,
)
from triton_launcher.repository import ModelRepository, pinned_ensemble_name
from triton_launcher.status import failure_kind

logger = logging.getLogger(__name__)

READY = "READY"
_UNLOADED = "unloaded"
_Reply = TypeVar("_Reply")


@dataclass(frozen=True)
class VersionState:
    """One version as Triton's repository index reports it."""

    version: int | None
    state: str
    reason: str = ""


@dataclass(frozen=True)
class ModelStatus:
    """A model as Triton sees it and as the repository holds it."""

    name: str
    versions: list[VersionState]
    on_disk: list[int]
    fixed: list[int] | None = None
    """Versions fixed by swap/rollback; None: config.pbtxt's own policy (latest) applies."""
    history: list[int] = field(default_factory=list)
    pinned: dict[int, list[str]] = field(default_factory=dict)
    """Pinned version -> the generated models serving it (pinned model, pinned ensembles)."""

    @property
    def ready(self) -> list[int]:
        return sorted(state.version for state in self.versions if state.state == READY and state.version is not None)


@dataclass(frozen=True)
class SwapResult:
    model: str
    previous: list[int]
    current: int
    seconds: float


class ModelControl:
    """Model control over Triton's gRPC repository API plus the generated files on disk."""

    def __init__(self, settings: ControlSettings | None = None, client: grpcclient.InferenceServerClient | None = None) -> None:
        self.settings = settings or ControlSettings.from_env()
        self.repository = ModelRepository(self.settings.model_repository, self.settings.model_config_name)
        self._client = client or grpcclient.InferenceServerClient(self.settings.grpc_url)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ModelControl:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    # Reading

    def models(self) -> list[ModelStatus]:
        """Every model Triton knows or the repository holds, with versions, states and swap state."""
        index = self._index()
        names = sorted({entry["name"] for entry in index} | set(self.repository.models()))
        return [self._status(name, index) for name in names]

    def status(self, model: str | None = None) -> ModelStatus:
        return self._status(model or self.settings.default_model, self._index())

    def ready_versions(self, name: str) -> list[int]:
        return self._status(name, self._index()).ready

    def route(self, version: int | None, model: str | None = None, ensemble: str | None = None) -> str:
        """The model to call for a request pinning `model` to `version`.

        The pinned ensemble when that version is pinned (it can only serve that version); the
        ensemble itself when no version is asked for or the asked one is the one served (a swap
        may still land in between: the response metadata tells which version served it).
        """
        model, ensemble = model or self.settings.default_model, ensemble or self.settings.ensemble
        if version is None:
            return ensemble
        if version in self.repository.pinned_versions(model):
            return pinned_ensemble_name(ensemble, model, version)
        if self.ready_versions(model) == [version]:
            return ensemble
        raise VersionNotPinnedError(
            f"{model} version {version} is neither served nor pinned; pin it first (models pin {version} --model {model})"
        )

    # Changing what is served

    def swap(self, version: int | None = None, model: str | None = None) -> SwapResult:
        """Serve `version` (default: the newest on disk) of `model` in place of the current one."""
        model = model or self.settings.default_model
        with self.repository.lock(model):
            target = version if version is not None else max(self.repository.versions(model), default=0)
            self.repository.require_version(model, target)
            started, previous = time.monotonic(), self.ready_versions(model)
            history = self.repository.history(model) or previous[-1:]
            self._serve(model, target)
            self.repository.write_history(model, history if history[-1:] == [target] else [*history, target])
        logger.info("%s: serving version %d (was %s)", model, target, previous)
        return SwapResult(model, previous, target, time.monotonic() - started)

    def rollback(self, model: str | None = None) -> SwapResult:
        """Serve again the version served before the last swap."""
        model = model or self.settings.default_model
        with self.repository.lock(model):
            history = self.repository.history(model)
            if len(history) < 2:
                raise NothingToRollBackError(f"{model}: no earlier version in the swap history {history}")
            target = history[-2]
            self.repository.require_version(model, target)
            started, previous = time.monotonic(), self.ready_versions(model)
            self._serve(model, target)
            self.repository.write_history(model, history[:-1])
        logger.info("%s: rolled back to version %d (was %s)", model, target, previous)
        return SwapResult(model, previous, target, time.monotonic() - started)

    def pin(self, version: int, model: str | None = None) -> list[str]:
        """Keep `version` of `model` loaded beside the served one, behind its own pinned ensembles."""
        model = model or self.settings.default_model
        with self.repository.lock(model):
            names = self.repository.create_pin(model, version)
            try:
                for name in names:
                    self._load(name)
            except ModelControlError:
                self._unload_all(reversed(names))
                self.repository.remove_pin(model, version)
                raise
        logger.info("%s: version %d pinned as %s", model, version, names)
        return names

    def unpin(self, version: int, model: str | None = None) -> list[str]:
        """Unload and delete the pinned copies of `version`."""
        model = model or self.settings.default_model
        with self.repository.lock(model):
            if version not in self.repository.pinned_versions(model):
                raise VersionNotPinnedError(f"{model} version {version} is not pinned")
            names = self.repository.pinned_names(model, version)
            self._unload_all(reversed(names))
            self.repository.remove_pin(model, version)
        return names

    def load(self, name: str) -> ModelStatus:
        """(Re)load a model as its files on disk describe it; the old one serves until the new is ready."""
        self._load(name)
        return self._status(name, self._index())

    def reload(self, name: str) -> ModelStatus:
        """Load `name` anew with fresh instances, e.g. after its Python stub died.

        A plain `load` of unchanged files is an in-place instance update in Triton 2.51 that
        keeps the dead stub (measured: 2 ms, still "Stub process ... is not healthy"); so the
        loaded version folders are marked changed first and Triton loads them from scratch
        (measured: 1.8 s for `decode`; its ensembles keep serving). Needs the repository on disk.
        """
        versions = self.ready_versions(name) or self.repository.versions(name)
        self.repository.mark_changed(name, versions)
        self._load(name)
        return self._status(name, self._index())

    def unload(self, name: str, force: bool = False) -> None:
        """Unload a model; refused for a composing model of a loaded ensemble unless `force`."""
        users = self._loaded_ensembles_using(name)
        if users and not force:
            raise ComposingModelError(f"{', '.join(users)} call {name}: unloading it takes them down; swap versions instead")
        self._call(lambda: self._client.unload_model(name, client_timeout=self.settings.load_timeout_s))

    # Internals

    def _serve(self, model: str, version: int) -> None:
        """Fix `model` to `version` on disk and have Triton re-read it; undo the file if that fails."""
        fixed = self.repository.served_versions(model)
        if fixed == [version] and self.ready_versions(model) == [version]:
            return
        self.repository.write_served(model, [version])
        try:
            self._load(model)
            ready = self.ready_versions(model)
            if ready != [version]:
                raise ModelControlError(
                    f"Triton serves {model} versions {ready} after loading version {version}: was it started "
                    f"with --model-config-name={self.settings.model_config_name} on {self.repository.root}?"
                )
        except ModelControlError:
            self.repository.write_served(model, fixed)
            raise

    def _load(self, name: str) -> None:
        try:
            self._client.load_model(name, client_timeout=self.settings.load_timeout_s)
        except InferenceServerException as error:
            raise self._load_error(name, error) from None

    def _load_error(self, name: str, error: InferenceServerException) -> ModelControlError:
        message = str(error.message() or error)
        if failure_kind(error) != "refused":  # unreachable, or no answer in time
            return ControlUnavailableError(f"Triton at {self.settings.grpc_url} did not answer loading {name}: {message}")
        try:
            versions = self._status(name, self._index()).versions
            failed = [state for state in versions if state.state != READY and state.reason not in ("", _UNLOADED)]
        except ModelControlError:
            failed = []
        reasons = "".join(
            f"\n  version {state.version}: {state.state}: {state.reason.strip()}" for state in failed if state.reason.strip() not in message
        )
        return ModelLoadError(f"Triton could not load {name}: {message}{reasons}")

    def _unload_all(self, names: Iterable[str]) -> None:
        for name in names:
            try:
                self._call(functools.partial(self._client.unload_model, name, client_timeout=self.settings.load_timeout_s))
            except ModelControlError as error:
                logger.warning("could not unload %s: %s", name, error)

    def _loaded_ensembles_using(self, name: str) -> list[str]:
        ready = sorted({entry["name"] for entry in self._index() if entry.get("state") == READY} - {name})
        return [other for other in ready if name in _step_models(self._config(other))]

    def _config(self, name: str) -> dict[str, Any]:
        return dict(self._call(lambda: self._client.get_model_config(name, as_json=True))["config"])

    def _index(self) -> list[dict[str, Any]]:
        return list(self._call(lambda: self._client.get_model_repository_index(as_json=True)).get("models", []))

    def _status(self, name: str, index: list[dict[str, Any]]) -> ModelStatus:
        versions = [
            VersionState(int(entry["version"]) if entry.get("version") else None, entry.get("state", ""), entry.get("reason", ""))
            for entry in index
            if entry["name"] == name
        ]
        pinned = {version: self.repository.pinned_names(name, version) for version in self.repository.pinned_versions(name)}
        return ModelStatus(
            name,
            versions,
            self.repository.versions(name),
            self.repository.served_versions(name),
            self.repository.history(name),
            pinned,
        )

    def _call(self, request: Callable[[], _Reply]) -> _Reply:
        """Run a tritonclient call; its exceptions become ModelControlError subclasses."""
        try:
            return request()
        except InferenceServerException as error:
            message = str(error.message() or error)
            if failure_kind(error) != "refused":  # unreachable, or no answer in time
                raise ControlUnavailableError(f"Triton at {self.settings.grpc_url} did not answer: {message}") from None
            raise ModelControlError(f"Triton refused: {message}") from None


def _step_models(config: dict[str, Any]) -> list[str]:
    return [step.get("model_name", "") for step in config.get("ensemble_scheduling", {}).get("step", [])]
