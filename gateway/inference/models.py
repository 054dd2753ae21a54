"""Model versions from the gateway: list, load, swap, roll back, pin, and route requests that pin `detect`.

A thin asyncio face over `triton_launcher.control.ModelControl` (blocking, thread-safe), which
does the work the CLI `python -m triton_launcher models` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from triton_launcher.config import ControlSettings
from triton_launcher.control import ModelControl, ModelStatus, SwapResult

from gateway.core.config import Settings
from gateway.core.errors import ModelNotFoundError


def control_settings(settings: Settings) -> ControlSettings:
    """Launcher settings (TRITON_* variables) with the gateway's Triton URL, ensemble and repository."""
    overrides: dict[str, Any] = {"grpc_url": settings.triton_url, "ensemble": settings.model_name}
    if settings.model_repository is not None:
        overrides["model_repository"] = settings.model_repository
    return ControlSettings.from_env(**overrides)


class ModelAdmin:
    """What the /v1/models routes and pinned requests call."""

    def __init__(self, control: ModelControl) -> None:
        self.control = control

    async def models(self) -> list[dict[str, Any]]:
        return [status_json(status) for status in await asyncio.to_thread(self.control.models)]

    async def load(self, model: str) -> dict[str, Any]:
        """(Re)load `model` as its files describe it (the CLI's `models load`); its status after."""
        await asyncio.to_thread(self._require_model, model)
        return status_json(await asyncio.to_thread(self.control.load, model))

    async def reload(self, model: str) -> None:
        """Load `model` anew with fresh instances (ModelControl.reload): brings back a model whose stub died."""
        await asyncio.to_thread(self.control.reload, model)

    async def swap(self, model: str, version: int | None) -> dict[str, Any]:
        return swap_json(await asyncio.to_thread(self.control.swap, version, model))

    async def rollback(self, model: str) -> dict[str, Any]:
        return swap_json(await asyncio.to_thread(self.control.rollback, model))

    async def pin(self, model: str, version: int) -> list[str]:
        return await asyncio.to_thread(self.control.pin, version, model)

    async def unpin(self, model: str, version: int) -> list[str]:
        return await asyncio.to_thread(self.control.unpin, version, model)

    async def route(self, detect_version: int) -> str:
        """The Triton model serving a request that pins `detect` to `detect_version`."""
        return await asyncio.to_thread(self.control.route, detect_version)

    def close(self) -> None:
        self.control.close()

    def _require_model(self, model: str) -> None:
        """Refuse a name that neither Triton nor the repository knows (Triton would only say it failed)."""
        known = [status.name for status in self.control.models()]
        if model not in known:
            raise ModelNotFoundError(f"no model {model!r} in {self.control.repository.root}; models: {', '.join(known)}")


def status_json(status: ModelStatus) -> dict[str, Any]:
    return {
        **dataclasses.asdict(status),
        "ready": status.ready,
        "pinned": {str(version): names for version, names in status.pinned.items()},
    }


def swap_json(result: SwapResult) -> dict[str, Any]:
    return dataclasses.asdict(result)
