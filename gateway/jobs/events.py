"""This process's fan-out of job events (which the job engine brings from every replica) to SSE streams and long polls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

Event = dict[str, Any]


class Subscription:
    """A bounded mailbox of events about some jobs (or all jobs when ``job_ids`` is empty)."""

    def __init__(self, job_ids: Collection[str], capacity: int) -> None:
        self.job_ids = frozenset(job_ids)
        self.queue: asyncio.Queue[Event] = asyncio.Queue(capacity)
        self.overflowed = False

    def wants(self, job_id: str) -> bool:
        return not self.job_ids or job_id in self.job_ids

    def offer(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, timeout_s: float) -> Event | None:
        """The next event, or None after ``timeout_s`` of silence."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout_s)
        except asyncio.TimeoutError:
            return None


class JobEvents:
    """Fan-out of every job event to the subscriptions that want it."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._subscriptions: set[Subscription] = set()

    def publish(self, event: Event) -> None:
        for subscription in list(self._subscriptions):
            if subscription.wants(str(event["job_id"])):
                subscription.offer(event)

    @contextmanager
    def subscribe(self, job_ids: Collection[str] = ()) -> Iterator[Subscription]:
        subscription = Subscription(job_ids, self.capacity)
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)
            if subscription.overflowed:
                logger.warning("an event subscriber fell %d events behind; some were dropped", self.capacity)
