"""Requests and dead Python stubs: the requests caught in a crash fail with a name, the rest wait.

When a stub dies, Triton answers "Stub process '<model>_<group>_<index>' is not healthy" to every
request for that model (Triton 2.51, measured: after about 1 s each) until the model is loaded
again. ``translate`` turns that into ModelCrashedError (502 ``model_crashed``); ``CrashGate``
then holds the requests that arrive for the same Triton model until the healer (see
gateway.inference.health) has the model reloaded and a canary through it passes, so only the
requests already in flight when the crash was seen fail.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from gateway.core.errors import ModelCrashedError, TritonUnavailableError

logger = logging.getLogger(__name__)

_DEAD_STUB = re.compile(r"Stub process '([^']+)' is not healthy")
_INSTANCE_SUFFIX = re.compile(r"_\d+_\d+$")  # Triton names instances <model>_<group>_<index>

CrashListener = Callable[[str, ModelCrashedError], None]


def crashed(message: str) -> ModelCrashedError | None:
    """ModelCrashedError naming the model and stub when Triton's ``message`` says a stub is dead."""
    found = _DEAD_STUB.search(message)
    if found is None:
        return None
    instance = found.group(1)
    model = _INSTANCE_SUFFIX.sub("", instance)
    detail = (
        f"the {model} model's process ({instance}) died while handling this request or another in its batch; "
        f"it is being reloaded, retry in a few seconds (Triton: {message})"
    )
    return ModelCrashedError(detail, model, instance)


class CrashGate:
    """Triton models (as called) being healed after a crash; requests to them wait for the healer."""

    def __init__(self) -> None:
        self.wait_s = 30.0
        self._healing: dict[str, asyncio.Event] = {}
        self._listeners: list[CrashListener] = []

    def on_crash(self, listener: CrashListener, wait_s: float) -> None:
        """Call ``listener(called_model, error)`` on each new crash; requests wait up to ``wait_s``.

        Without a listener nothing heals, so nothing waits: requests go through (and fail) as before.
        """
        self._listeners.append(listener)
        self.wait_s = wait_s

    def crashed(self, called: str, error: ModelCrashedError) -> None:
        """A request to ``called`` met a dead stub: close the gate (once) and tell the healer."""
        if not self._listeners or called in self._healing:
            return
        logger.error("%s: stub %s of model %s died; holding new requests until it is reloaded", called, error.instance, error.model)
        self._healing[called] = asyncio.Event()
        for listener in self._listeners:
            listener(called, error)

    def healed(self, called: str) -> None:
        """Open the gate of ``called``: the waiting requests go on."""
        event = self._healing.pop(called, None)
        if event is not None:
            event.set()

    @property
    def healing(self) -> list[str]:
        return sorted(self._healing)

    async def wait(self, called: str) -> None:
        """Return once ``called`` is usable; TritonUnavailableError after ``wait_s`` (503, jobs retry)."""
        event = self._healing.get(called)
        if event is None:
            return
        try:
            await asyncio.wait_for(event.wait(), self.wait_s)
        except asyncio.TimeoutError:
            raise TritonUnavailableError(
                f"{called} is still being reloaded after a stub crash ({self.wait_s:g} s, GATEWAY_RECOVERY_WAIT_S)"
            ) from None
