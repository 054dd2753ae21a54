"""The in-process engine: one gateway's asyncio priority queue and event fan-out (GATEWAY_NATS_URL empty).

Nothing outlives the process, so a starting gateway resumes the unfinished jobs of its store.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from gateway.jobs.engine.base import Delivery, Event, EventHandler, ExhaustedHandler, JobEngine
from gateway.jobs.models import Priority
from gateway.jobs.queue import JobQueue


class LocalDelivery(Delivery):
    def __init__(self, engine: InProcessEngine, job_id: str, priority: Priority, deliveries: int) -> None:
        super().__init__(job_id, priority, deliveries)
        self._engine = engine

    async def ack(self) -> None:
        self._engine.settled(self.job_id)

    async def retry(self, delay_s: float) -> None:
        self._engine.retry_later(self, delay_s)

    async def extend(self) -> None:
        """Nothing to do: an in-process delivery has no deadline."""


class InProcessEngine(JobEngine):
    """:class:`JobQueue` plus delivery counts; events go straight to ``on_event``."""

    name = "in-process"
    resumes_from_store = True

    def __init__(self, max_deliveries: int = 100) -> None:
        self.max_deliveries = max_deliveries
        self.queue = JobQueue()
        self._deliveries: Counter[str] = Counter()
        self._taken = 0
        self._delayed: set[asyncio.Task[None]] = set()
        self._stats: dict[str, dict[str, Any]] = {}
        self._on_event: EventHandler = lambda event: None
        self._on_exhausted: ExhaustedHandler | None = None

    async def start(self, on_event: EventHandler, on_exhausted: ExhaustedHandler) -> None:
        self._on_event, self._on_exhausted = on_event, on_exhausted

    async def close(self) -> None:
        for task in list(self._delayed):
            task.cancel()
        await asyncio.gather(*self._delayed, return_exceptions=True)

    async def ping(self, timeout_s: float) -> None:
        """Always up: the queue lives in this process."""

    async def enqueue(self, job_id: str, priority: Priority) -> None:
        self.queue.put(job_id, priority)

    async def take(self) -> Delivery:
        job_id, priority = await self.queue.get()
        self._deliveries[job_id] += 1
        self._taken += 1
        return LocalDelivery(self, job_id, priority, self._deliveries[job_id])

    def settled(self, job_id: str) -> None:
        self._deliveries.pop(job_id, None)
        self._taken -= 1

    def retry_later(self, delivery: Delivery, delay_s: float) -> None:
        self._taken -= 1
        if delivery.deliveries >= self.max_deliveries:
            self._deliveries.pop(delivery.job_id, None)
            self._spawn(self._exhausted(delivery.job_id, delivery.deliveries))
        else:
            self._spawn(self._put_after(delivery.job_id, delivery.priority, delay_s))

    async def _put_after(self, job_id: str, priority: Priority, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self.queue.put(job_id, priority)

    async def _exhausted(self, job_id: str, deliveries: int) -> None:
        if self._on_exhausted is not None:
            await self._on_exhausted(job_id, deliveries)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)

    async def publish(self, event: Event) -> None:
        self._on_event(event)

    async def depth(self) -> dict[str, int]:
        return self.queue.depths()

    async def in_progress(self) -> int:
        return self._taken

    async def publish_stats(self, replica: str, snapshot: dict[str, Any]) -> None:
        self._stats = {replica: snapshot}

    async def replica_stats(self) -> dict[str, dict[str, Any]]:
        return dict(self._stats)
