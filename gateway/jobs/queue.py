"""The local job queue: highest priority first, then first come first served."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from gateway.jobs.models import Priority


class JobQueue:
    """Job ids ordered by (priority, arrival); ``on_change`` hears the depth."""

    def __init__(self, on_change: Callable[[int], None] = lambda depth: None) -> None:
        self._queue: asyncio.PriorityQueue[tuple[int, int, str]] = asyncio.PriorityQueue()
        self._arrival = itertools.count()
        self._on_change = on_change

    def put(self, job_id: str, priority: Priority) -> None:
        self._queue.put_nowait((int(priority), next(self._arrival), job_id))
        self._on_change(self._queue.qsize())

    async def get(self) -> str:
        _, _, job_id = await self._queue.get()
        self._on_change(self._queue.qsize())
        return job_id

    def __len__(self) -> int:
        return self._queue.qsize()
