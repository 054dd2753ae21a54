"""One background task that runs a step every period until stopped (sweeps, figures)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


class Periodic:
    """Runs ``step`` every ``period_s`` seconds in an asyncio task named ``name``.

    ``first_delay`` waits one period before the first step (the caller ran it already). An
    exception of a type in ``survives`` is logged as a warning and the loop goes on (the next
    step retries); any other ends the task, logged by asyncio. :meth:`stop` cancels and waits.
    """

    def __init__(
        self, name: str, period_s: float, step: Callable[[], Awaitable[object]],
        survives: tuple[type[BaseException], ...] = (), first_delay: bool = False,
    ) -> None:
        self.name = name
        self.period_s = period_s
        self.step = step
        self.survives = survives
        self.first_delay = first_delay
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        if self.first_delay:
            await asyncio.sleep(self.period_s)
        while True:
            try:
                await self.step()
            except self.survives as error:
                logger.warning("%s: %s; trying again in %g s", self.name, error, self.period_s)
            await asyncio.sleep(self.period_s)
