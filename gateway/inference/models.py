"""Model versions from the gateway: list, load, swap, roll back, pin, and route requests that pin `detect`.

A thin asyncio face over `triton_launcher.control.ModelControl` (blocking, thread-safe), which
does the work the CLI `python -m triton_launcher models` does, on every Triton backend: the first
backend that is up (the primary) does the work, files in the shared model repository included;
then each other backend that is up loads what changed (a swap or rollback: the model, which it
reads from the same files; a pin: the pinned copies; an unpin: unloads them first). A backend
that is out reads the files when it comes back. Reloading a crashed model is per backend.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from gateway.core.config import Settings
from gateway.core.errors import ModelNotFoundError
from gateway.inference.backends import TritonBackends
from triton_launcher.config import ControlSettings
from triton_launcher.control import ModelControl, ModelStatus, SwapResult
from triton_launcher.errors import ControlUnavailableError, ModelControlError, ModelLoadError

logger = logging.getLogger(__name__)


def control_settings(settings: Settings, grpc_url: str | None = None) -> ControlSettings:
    """Launcher settings (TRITON_* variables) with a Triton URL (default: the gateway's), ensemble and repository."""
    overrides: dict[str, Any] = {"grpc_url": grpc_url or settings.triton_url, "ensemble": settings.model_name}
    if settings.model_repository is not None:
        overrides["model_repository"] = settings.model_repository
    return ControlSettings.from_env(**overrides)


class ModelAdmin:
    """What the /v1/models routes, pinned requests and the healer call, for every backend."""

    def __init__(self, settings: Settings, backends: TritonBackends) -> None:
        self._settings = settings
        self._backends = backends
        self._controls: dict[str, ModelControl] = {}

    def control_for(self, url: str) -> ModelControl:
        """The model control of the backend at ``url`` (opened once)."""
        if url not in self._controls:
            self._controls[url] = ModelControl(control_settings(self._settings, url))
        return self._controls[url]

    @property
    def control(self) -> ModelControl:
        """The primary's control: the first backend that is up, else the first configured one."""
        up = [backend.url for backend in self._backends.backends if backend.up]
        return self.control_for((up or self._backends.urls or [self._settings.triton_url])[0])

    def _followers(self, primary: ModelControl) -> list[tuple[str, ModelControl]]:
        """Every other backend that is up, with its control."""
        controls = [(backend.url, self.control_for(backend.url)) for backend in self._backends.backends if backend.up]
        return [(url, control) for url, control in controls if control is not primary]

    async def _follow(self, primary: ModelControl, what: str, step: Callable[[ModelControl], object]) -> dict[str, str]:
        """Run ``step`` on each follower; ModelLoadError naming the backend if one that is up refuses.

        A follower that stopped answering meanwhile is skipped (it reads the files when it is back).
        """
        outcomes = {primary.settings.grpc_url: "ok"}
        for url, control in self._followers(primary):
            try:
                await asyncio.to_thread(step, control)
                outcomes[url] = "ok"
            except ControlUnavailableError as error:
                logger.warning("Triton backend %s did not answer %s: %s", url, what, error)
                outcomes[url] = f"unavailable: {error}"
            except ModelControlError as error:
                raise ModelLoadError(f"Triton backend {url} failed to follow {what} ({primary.settings.grpc_url} did it): {error}") from None
        return outcomes

    async def models(self) -> list[dict[str, Any]]:
        return [status_json(status) for status in await asyncio.to_thread(self.control.models)]

    async def load(self, model: str) -> dict[str, Any]:
        """(Re)load `model` as its files describe it (the CLI's `models load`) on every backend; the
        primary's status after, and ``backends``: each one's outcome."""
        primary = self.control
        await asyncio.to_thread(self._require_model, primary, model)
        status = await asyncio.to_thread(primary.load, model)
        outcomes = await self._follow(primary, f"loading {model}", lambda control: control.load(model))
        return {**status_json(status), "backends": outcomes}

    async def reload(self, model: str, url: str) -> None:
        """Load `model` anew with fresh instances on the backend at `url` (ModelControl.reload): brings
        back a model whose stub died there."""
        await asyncio.to_thread(self.control_for(url).reload, model)

    async def swap(self, model: str, version: int | None) -> dict[str, Any]:
        return await self._swap_everywhere(model, "swap", lambda control: control.swap(version, model))

    async def rollback(self, model: str) -> dict[str, Any]:
        return await self._swap_everywhere(model, "rollback", lambda control: control.rollback(model))

    async def _swap_everywhere(self, model: str, what: str, step: Callable[[ModelControl], SwapResult]) -> dict[str, Any]:
        """``step`` (a swap or rollback of ``model``) on the primary, then each follower loads ``model``."""
        primary = self.control
        result = swap_json(await asyncio.to_thread(step, primary))
        outcomes = await self._follow(primary, f"the {what} of {model}", lambda control: control.load(model))
        return {**result, "backends": outcomes}

    async def pin(self, model: str, version: int) -> list[str]:
        primary = self.control
        names = await asyncio.to_thread(primary.pin, version, model)
        await self._follow(primary, f"the pin of {model} {version}", lambda control: [control.load(name) for name in names])
        return names

    async def unpin(self, model: str, version: int) -> list[str]:
        primary = self.control
        if version in primary.repository.pinned_versions(model):
            names = primary.repository.pinned_names(model, version)
            await self._follow(primary, f"the unpin of {model} {version}", lambda control: unload_all(control, names))
        return await asyncio.to_thread(primary.unpin, version, model)

    async def route(self, detect_version: int) -> str:
        """The Triton model serving a request that pins `detect` to `detect_version`."""
        return await asyncio.to_thread(self.control.route, detect_version)

    def close(self) -> None:
        for control in self._controls.values():
            control.close()

    @staticmethod
    def _require_model(control: ModelControl, model: str) -> None:
        """Refuse a name that neither Triton nor the repository knows (Triton would only say it failed)."""
        known = [status.name for status in control.models()]
        if model not in known:
            raise ModelNotFoundError(f"no model {model!r} in {control.repository.root}; models: {', '.join(known)}")


def unload_all(control: ModelControl, names: list[str]) -> None:
    """Unload pinned copies, the ensembles first (forced: a pinned detector is only theirs)."""
    for name in reversed(names):
        control.unload(name, force=True)


def status_json(status: ModelStatus) -> dict[str, Any]:
    return {
        **dataclasses.asdict(status),
        "ready": status.ready,
        "pinned": {str(version): names for version, names in status.pinned.items()},
    }


def swap_json(result: SwapResult) -> dict[str, Any]:
    return dataclasses.asdict(result)
