"""Honest readiness and self-healing, per Triton backend: an inference canary through the real
models, and the healer that reloads a model whose Python stub died.

The canary sends a tiny generated PNG through each model the gateway calls (``pipeline``,
``transcode``, ``process``: every step of each runs) on every backend (backends at once, models in
turn), every ``interval_s`` (every second while one fails), bounded by ``timeout_s``; /readyz
reads the cached results, it never runs inference itself. A backend that is out (see
gateway.inference.backends) is not sent canaries: its results say why it is out. When any request
(or the canary) meets a dead stub on a backend, the healer reloads that model on that backend
through Triton's repository API (unless reloading is left to the launcher that supervises that
Triton), then runs the canary through the model that was called there until it passes, and only
then lets that backend's held requests go (see gateway.inference.recovery); the other backends
keep serving meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from gateway.core.config import Settings
from gateway.core.errors import GatewayError, ModelCrashedError, TritonUnavailableError
from gateway.inference.backends import Backend, TritonBackends
from gateway.inference.models import ModelAdmin
from imaging.errors import ImageError
from triton_launcher.errors import LauncherError

logger = logging.getLogger(__name__)

OK = "ok"
Reload = Callable[[str, str], Awaitable[object]]  # (model, backend url)


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
        self, backends: TritonBackends, models: Sequence[str], reload: Reload | None,
        interval_s: float, timeout_s: float, recovery_wait_s: float,
    ) -> None:
        self.backends = backends
        self.models = list(dict.fromkeys(models))
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.results: dict[str, dict[str, CanaryResult]] = {}  # backend url -> model -> last canary
        self._reload = reload
        self._recovery_wait_s = recovery_wait_s
        self._image = canary_png()
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Run the canary loop; heal crashed models (reloading them when ``reload`` is given) and hold
        requests meanwhile; a backend put back gets its canaries at once."""
        self.backends.on_crash(self._on_crash, self._recovery_wait_s)
        self.backends.on_up(lambda backend: self._wake.set())
        self._spawn(self._loop(), "triton-canary")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def backend_checks(self) -> dict[str, dict[str, str]]:
        """Backend url -> model -> ``ok`` or why not; a model never checked yet, or not for longer than
        a round of canaries can take, is not ready."""
        stale_after = len(self.models) * self.timeout_s + self.interval_s + 5
        checks: dict[str, dict[str, str]] = {}
        for backend in self.backends.backends:
            results = self.results.get(backend.url, {})
            checks[backend.url] = {model: self._check(backend, model, results.get(model), stale_after) for model in self.models}
        return checks

    def checks(self) -> dict[str, str]:
        """Model -> ``ok`` or why not, on the best backend: one where every model passes if there is
        one, else the one where most do (with one backend: its own results)."""
        per_backend = list(self.backend_checks().values())
        if not per_backend:
            return {model: f"no Triton backend ({self.backends.url})" for model in self.models}
        return max(per_backend, key=lambda checks: sum(detail == OK for detail in checks.values()))

    def ready_backends(self) -> list[str]:
        """The backends that are up and pass the canary through every model."""
        up = {backend.url for backend in self.backends.backends if backend.up}
        return [url for url, checks in self.backend_checks().items() if url in up and all(d == OK for d in checks.values())]

    @staticmethod
    def _check(backend: Backend, model: str, result: CanaryResult | None, stale_after: float) -> str:
        if backend.healing(model):
            return "a stub crashed; reloading"
        if result is None:
            return "canary not run yet"
        if time.monotonic() - result.at > stale_after:
            return f"no canary result for {time.monotonic() - result.at:.0f} s"
        return result.detail

    async def canary(self, backend: Backend, model: str) -> str:
        """``ok`` when the tiny PNG comes back through ``model`` on ``backend`` within ``timeout_s``,
        else why not; a backend found unavailable is taken out."""
        try:
            await asyncio.wait_for(backend.call([self._image], {}, 1, model), self.timeout_s)
        except asyncio.TimeoutError:
            detail = f"canary got no answer within {self.timeout_s:g} s"
        except TritonUnavailableError as error:
            self.backends.take_out(backend, str(error))
            detail = f"canary failed: {error.code}: {error}"
        except (ImageError, GatewayError) as error:
            detail = f"canary failed: {error.code}: {error}"
        except Exception as error:  # noqa: BLE001 - fail closed: an unexpected answer is not a pass
            logger.exception("canary through %s on %s failed unexpectedly", model, backend.url)
            detail = f"canary failed: {type(error).__name__}: {error}"
        else:
            detail = OK
        (backend.canary_failing.discard if detail == OK else backend.canary_failing.add)(model)
        return detail

    async def _loop(self) -> None:
        while True:
            backends = list(self.backends.backends)
            await asyncio.gather(*(self._round(backend) for backend in backends))
            for url in set(self.results) - {backend.url for backend in backends}:
                del self.results[url]  # a backend that left
            failing = any(not result.ok for results in self.results.values() for result in results.values())
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(1.0, self.interval_s) if failing else self.interval_s)

    async def _round(self, backend: Backend) -> None:
        """The canary through every model on ``backend`` (not sent while it is out)."""
        results = self.results.setdefault(backend.url, {})
        for model in self.models:
            if backend.up:
                detail = await self.canary(backend, model)
            else:
                detail = f"canary not run: {TritonUnavailableError.code}: backend out: {backend.reason}"
            results[model] = CanaryResult(detail, time.monotonic())

    def _on_crash(self, backend: Backend, called: str, error: ModelCrashedError) -> None:
        self.results.setdefault(backend.url, {})[called] = CanaryResult(f"canary failed: {error.code}: {error}", time.monotonic())
        backend.canary_failing.add(called)
        self._spawn(self._heal(backend, called, error.model), f"heal-{called}-{backend.url}")

    async def _heal(self, backend: Backend, called: str, model: str) -> None:
        """Reload ``model`` on ``backend`` until a canary through ``called`` passes there; then release
        the requests held for it. Without ``reload`` (the launcher supervising that Triton reloads
        it) only the canary runs. A backend that left the pool meanwhile is let go."""
        started, attempt = time.monotonic(), 0
        while backend in self.backends.backends:
            attempt += 1
            await self._reload_once(backend, model, attempt)
            detail = await self.canary(backend, called)
            self.results.setdefault(backend.url, {})[called] = CanaryResult(detail, time.monotonic())
            if detail == OK:
                logger.warning(
                    "%s serves again on %s: %s reloaded after a stub crash in %.1f s",
                    called, backend.url, model, time.monotonic() - started,
                )
                break
            await asyncio.sleep(min(1.0 * attempt, 10.0) if self._reload is not None else 0.5)
        backend.pipeline.crashes.healed(called)
        self._wake.set()

    async def _reload_once(self, backend: Backend, model: str, attempt: int) -> None:
        if self._reload is None:
            return
        logger.warning("reloading %s on %s (attempt %d) after its stub crashed", model, backend.url, attempt)
        try:
            await self._reload(model, backend.url)
        except (LauncherError, GatewayError) as error:
            logger.error("reloading %s on %s after its stub crashed failed (attempt %d): %s", model, backend.url, attempt, error)

    def _spawn(self, work: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def start_health(settings: Settings, backends: TritonBackends, admin: ModelAdmin) -> TritonHealth:
    """The canary over every model the gateway calls on every backend, reloading through ``admin``
    unless turned off."""
    models = [settings.model_name, settings.transcode_model, settings.process_model]
    reload = admin.reload if settings.reload_crashed_models else None
    health = TritonHealth(
        backends, models, reload, settings.canary_interval_s, settings.canary_timeout_s, settings.recovery_wait_s
    )
    health.start()
    return health
