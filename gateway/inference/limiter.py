"""A bound on concurrent Triton calls: sync requests are refused when it is full, jobs wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from gateway.core.errors import BusyError


class InFlightLimiter:
    """At most ``capacity`` calls at once; ``on_change`` hears the current count."""

    def __init__(self, capacity: int, on_change: Callable[[int], None] = lambda count: None) -> None:
        self.capacity = capacity
        self.in_flight = 0
        self._on_change = on_change
        self._freed = asyncio.Condition()

    @asynccontextmanager
    async def slot(self, *, wait: bool) -> AsyncIterator[None]:
        """Hold one slot; without ``wait`` a full limiter raises BusyError at once."""
        async with self._freed:
            if not wait and self.in_flight >= self.capacity:
                raise BusyError(f"{self.in_flight} Triton calls in flight, the limit (GATEWAY_MAX_IN_FLIGHT)")
            await self._freed.wait_for(lambda: self.in_flight < self.capacity)
            self._set(self.in_flight + 1)
        try:
            yield
        finally:
            async with self._freed:
                self._set(self.in_flight - 1)
                self._freed.notify()

    def _set(self, count: int) -> None:
        self.in_flight = count
        self._on_change(count)
