"""Honest readiness and self-healing: an inference canary through the real models, and the healer
that reloads a model whose Python stub died.

The canary sends a tiny generated PNG through each model the gateway calls (``pipeline``,
``transcode``, ``process``: every step of each runs), every ``interval_s`` (every second while one
fails), bounded by ``timeout_s``; /readyz reads the cached result, it never runs inference itself.
When any request (or the canary) meets a dead stub, the healer reloads that model through
Triton's repository API (unless reloading is left to the launcher that supervises that Triton),
then runs the canary through the model that was called until it passes, and only then lets the
held requests go (see gateway.inference.recovery).
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from gateway.core.config import Settings
from gateway.core.errors import GatewayError, ModelCrashedError
from gateway.inference.models import ModelAdmin
from gateway.inference.triton import TritonPipeline
from imaging.errors import ImageError
from triton_launcher.errors import LauncherError

logger = logging.getLogger(__name__)

OK = "ok"
Reload = Callable[[str], Awaitable[object]]


def canary_png(width: int = 64, height: int = 48) -> bytes:
    """A valid 8-bit gray PNG of ``width`` x ``height`` pixels (a gradient), encoded by Pillow."""
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    buffer = io.BytesIO()
    Image.fromarray(((x * 4 + y) % 256).astype(np.uint8), "L").save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class CanaryResult:
    """One model's last canary: ``detail`` is ``ok`` or what failed; ``at`` is time.monotonic()."""

    detail: str
    at: float

    @property
    def ok(self) -> bool:
        return self.detail == OK


class TritonHealth:
    """The canary loop and the healer for ``models`` (Triton model names as the gateway calls them)."""

    def __init__(
        self, pipeline: TritonPipeline, models: Sequence[str], reload: Reload | None,
        interval_s: float, timeout_s: float, recovery_wait_s: float,
    ) -> None:
        self.pipeline = pipeline
        self.models = list(dict.fromkeys(models))
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.results: dict[str, CanaryResult] = {}
        self._reload = reload
        self._recovery_wait_s = recovery_wait_s
        self._image = canary_png()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Run the canary loop; heal crashed models (reloading them when ``reload`` is given) and hold
        requests meanwhile."""
        self.pipeline.crashes.on_crash(self._on_crash, self._recovery_wait_s)
        self._spawn(self._loop(), "triton-canary")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def checks(self) -> dict[str, str]:
        """Model -> ``ok`` or why not, for /readyz; a model never checked yet, or not for longer than
        a round of canaries can take, is not ready."""
        healing = set(self.pipeline.crashes.healing)
        stale_after = len(self.models) * self.timeout_s + self.interval_s + 5
        checks = {}
        for model in self.models:
            result = self.results.get(model)
            if model in healing:
                checks[model] = "a stub crashed; reloading"
            elif result is None:
                checks[model] = "canary not run yet"
            elif time.monotonic() - result.at > stale_after:
                checks[model] = f"no canary result for {time.monotonic() - result.at:.0f} s"
            else:
                checks[model] = result.detail
        return checks

    async def canary(self, model: str) -> str:
        """``ok`` when the tiny PNG comes back through ``model`` within ``timeout_s``, else why not."""
        try:
            await asyncio.wait_for(self.pipeline.process([self._image], {}, 1, model, wait_healed=False), self.timeout_s)
        except asyncio.TimeoutError:
            return f"canary got no answer within {self.timeout_s:g} s"
        except (ImageError, GatewayError) as error:
            return f"canary failed: {error.code}: {error}"
        except Exception as error:  # noqa: BLE001 - fail closed: an unexpected answer is not a pass
            logger.exception("canary through %s failed unexpectedly", model)
            return f"canary failed: {type(error).__name__}: {error}"
        return OK

    async def _loop(self) -> None:
        while True:
            for model in self.models:
                self.results[model] = CanaryResult(await self.canary(model), time.monotonic())
            failing = any(not result.ok for result in self.results.values())
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), min(1.0, self.interval_s) if failing else self.interval_s)
            except asyncio.TimeoutError:
                pass

    def _on_crash(self, called: str, error: ModelCrashedError) -> None:
        self.results[called] = CanaryResult(f"canary failed: {error.code}: {error}", time.monotonic())
        self._spawn(self._heal(called, error.model), f"heal-{called}")

    async def _heal(self, called: str, model: str) -> None:
        """Reload ``model`` until a canary through ``called`` passes; then release the held requests.

        Without ``reload`` (the launcher supervising that Triton reloads it) only the canary runs.
        """
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            await self._reload_once(model, attempt)
            detail = await self.canary(called)
            self.results[called] = CanaryResult(detail, time.monotonic())
            if detail == OK:
                self.pipeline.crashes.healed(called)
                logger.warning("%s serves again: %s reloaded after a stub crash in %.1f s", called, model, time.monotonic() - started)
                self._wake.set()
                return
            await asyncio.sleep(min(1.0 * attempt, 10.0) if self._reload is not None else 0.5)

    async def _reload_once(self, model: str, attempt: int) -> None:
        if self._reload is None:
            return
        logger.warning("reloading %s (attempt %d) after its stub crashed", model, attempt)
        try:
            await self._reload(model)
        except (LauncherError, GatewayError) as error:
            logger.error("reloading %s after its stub crashed failed (attempt %d): %s", model, attempt, error)

    def _spawn(self, work: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def start_health(settings: Settings, pipeline: TritonPipeline, admin: ModelAdmin) -> TritonHealth:
    """The canary over every model the gateway calls, reloading through ``admin`` unless turned off."""
    models = [settings.model_name, settings.transcode_model, settings.process_model]
    reload = admin.reload if settings.reload_crashed_models else None
    health = TritonHealth(
        pipeline, models, reload, settings.canary_interval_s, settings.canary_timeout_s, settings.recovery_wait_s
    )
    health.start()
    return health
