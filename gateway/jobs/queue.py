"""The local job queue: highest priority first, then first come first served."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from gateway.jobs.models import Priority


class JobQueue:
    """Job ids ordered by (priority, arrival); ``depths()`` counts them per priority name."""

    def __init__(self) -> None:
        self._queue: asyncio.PriorityQueue[tuple[int, int, str]] = asyncio.PriorityQueue()
        self._arrival = itertools.count()
        self._counts: Counter[Priority] = Counter()

    def put(self, job_id: str, priority: Priority) -> None:
        self._queue.put_nowait((int(priority), next(self._arrival), job_id))
        self._counts[priority] += 1

    async def get(self) -> tuple[str, Priority]:
        """The next job id and its priority, waiting while the queue is empty."""
        level, _, job_id = await self._queue.get()
        priority = Priority(level)
        self._counts[priority] -= 1
        return job_id, priority

    def depths(self) -> dict[str, int]:
        return {priority.name: self._counts[priority] for priority in Priority}

    def __len__(self) -> int:
        return self._queue.qsize()
