"""Bring a model back when its Python stub dies, with no operator.

A crafted input can kill a stub (a segfault or a division by zero in native decoder code); from
then on Triton answers "Stub process '<instance>' is not healthy" to every request for that
model while reporting it ready, until the model is loaded again. ``StubSupervisor`` watches the
server's stubs in the process table (see triton_launcher.stubs; TritonServer's watcher thread
calls check() twice a second) and, when one has been a zombie for two looks in a row (a stub
ended by an unload is reaped within milliseconds), reloads its model through Triton's repository
API (``ModelControl.reload``: the ensembles using it keep serving). A failed reload is tried
again every ``retry_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from triton_launcher.errors import LauncherError
from triton_launcher.stubs import StubProcess, process_state, stub_processes

logger = logging.getLogger(__name__)

Reload = Callable[[str], bool]
"""Reload a model by name; False when it is no longer meant to be served (then it is left alone)."""


class StubSupervisor:
    """Reload the models of the tritonserver ``server_pid`` whose stubs died; call check() periodically."""

    def __init__(self, server_pid: int, reload: Reload, retry_s: float = 5.0) -> None:
        self.server_pid = server_pid
        self.retry_s = retry_s
        self.reloaded: list[str] = []
        """Models reloaded so far, in order (for logs and tests)."""
        self._reload = reload
        self._known: dict[int, StubProcess] = {}
        self._zombies: set[int] = set()
        self._pending: dict[str, float] = {}  # model -> when to try reloading it

    def check(self) -> None:
        """One look at the process table, then the reloads that are due."""
        for pid, stub in list(self._known.items()):
            state = process_state(pid)[0]
            if state == "Z" and pid in self._zombies:
                logger.warning("stub %s (pid %d) of model %s died; reloading %s", stub.instance, pid, stub.model, stub.model)
                self._pending.setdefault(stub.model, 0.0)
                del self._known[pid]
            elif state == "Z":
                self._zombies.add(pid)  # confirmed dead at the next look unless reaped by then
            elif state == "":
                del self._known[pid]
        self._zombies &= set(self._known)
        self._learn()
        now = time.monotonic()
        due = [model for model, when in self._pending.items() if when <= now]
        for model in due:
            self._try_reload(model, now)
        if due:
            self._learn()  # the new stubs, before anything can kill them unseen

    def _learn(self) -> None:
        for stub in stub_processes(self.server_pid):
            self._known.setdefault(stub.pid, stub)

    def _try_reload(self, model: str, now: float) -> None:
        try:
            reloaded = self._reload(model)
        except LauncherError as error:
            logger.error("reloading %s after its stub died failed (next try in %.0f s): %s", model, self.retry_s, error)
            self._pending[model] = now + self.retry_s
            return
        del self._pending[model]
        if reloaded:
            self.reloaded.append(model)
            logger.warning("model %s reloaded after its stub died", model)
        else:
            logger.info("model %s is no longer served; not reloaded", model)
