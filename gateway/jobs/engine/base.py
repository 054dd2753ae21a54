"""The job engine interface: where accepted jobs wait for a worker and how job events travel.

Two implementations pass one contract (``tests/gateway/test_engine_contract.py``):
:class:`~gateway.jobs.engine.local.InProcessEngine` (one gateway process, today's queue) and
:class:`~gateway.jobs.engine.jetstream.JetStreamEngine` (NATS JetStream, shared by N gateways).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.jobs.models import Priority

Event = dict[str, Any]
EventHandler = Callable[[Event], None]
ExhaustedHandler = Callable[[str, int], Awaitable[None]]  # (job_id, deliveries)


class Delivery(ABC):
    """One delivery of a job id to a worker; settle it with exactly one of ack, retry or drop.

    ``deliveries`` counts this one (1 = first delivery).
    """

    def __init__(self, job_id: str, priority: Priority, deliveries: int) -> None:
        self.job_id = job_id
        self.priority = priority
        self.deliveries = deliveries

    @abstractmethod
    async def ack(self) -> None:
        """The job's final state is saved (or it no longer exists): never deliver it again."""

    @abstractmethod
    async def retry(self, delay_s: float) -> None:
        """Deliver it again (to any worker) after ``delay_s`` seconds; counts toward the delivery limit."""

    @abstractmethod
    async def extend(self) -> None:
        """Still working on it: restart the ack deadline (a heartbeat while a long job runs)."""


class JobEngine(ABC):
    """Job queue by priority (high before normal before low, then first come first served) and event bus.

    ``resumes_from_store``: True when the queue does not outlive the process, so a starting
    gateway must queue again the unfinished jobs of the store; False when the engine keeps them.
    """

    name: str = "engine"
    resumes_from_store: bool = True
    ack_wait_s: float = 30.0
    max_deliveries: int = 100

    @abstractmethod
    async def start(self, on_event: EventHandler, on_exhausted: ExhaustedHandler) -> None:
        """Connect; ``on_event`` hears every job event of every replica (this one's included),
        ``on_exhausted`` is called (on one replica) for a job delivered ``max_deliveries`` times."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect; unacknowledged deliveries go back to the queue (JetStream: after the ack deadline)."""

    @abstractmethod
    async def ping(self, timeout_s: float) -> None:
        """Return within ``timeout_s`` when the engine can take jobs; QueueUnavailableError otherwise."""

    @abstractmethod
    async def enqueue(self, job_id: str, priority: Priority) -> None:
        """Queue ``job_id`` durably before returning; queuing the same id twice queues it once
        (JetStream: within the duplicate window). Raises QueueUnavailableError."""

    @abstractmethod
    async def take(self) -> Delivery:
        """The next job for a worker, waiting as long as none is queued."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Send a job event (``{"job_id", "status", ...}``) to every replica's ``on_event``."""

    @abstractmethod
    async def depth(self) -> dict[str, int]:
        """Jobs waiting for a worker, by priority name (``high``, ``normal``, ``low``)."""

    @abstractmethod
    async def in_progress(self) -> int:
        """Jobs delivered to a worker and not yet settled."""

    @abstractmethod
    async def publish_stats(self, replica: str, snapshot: dict[str, Any]) -> None:
        """Share this replica's figures with the others (they expire unless published again)."""

    @abstractmethod
    async def replica_stats(self) -> dict[str, dict[str, Any]]:
        """The latest figures of every live replica, by replica name."""
