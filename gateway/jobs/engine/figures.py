"""Autoscaling figures: queue depth by priority and jobs by state on /metrics, and every replica's
throughput shared through the engine so ``/v1/stats`` can add them up."""

from __future__ import annotations

import logging
import time
from typing import Any

from gateway.core.metrics import GatewayMetrics
from gateway.core.periodic import Periodic
from gateway.core.stats import ThroughputStats, aggregate
from gateway.inference.limiter import InFlightLimiter
from gateway.jobs.engine.base import JobEngine

logger = logging.getLogger(__name__)


class EngineFigures:
    """Every ``interval_s``: the engine's depth into ``gateway_job_queue_depth{priority}`` (and, for a
    shared engine, ``gateway_jobs{state="queued"|"running"}``), and this replica's figures published."""

    def __init__(
        self, engine: JobEngine, metrics: GatewayMetrics, stats: ThroughputStats, limiter: InFlightLimiter,
        replica: str, interval_s: float,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.stats = stats
        self.limiter = limiter
        self.replica = replica
        self.interval_s = interval_s
        # Exception: the figures loop must outlive an engine outage of any kind.
        self._periodic = Periodic("engine-figures", interval_s, self.refresh, survives=(Exception,))

    def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def refresh(self) -> dict[str, int]:
        """Update the gauges and publish this replica's figures; the depth by priority."""
        depth = await self.engine.depth()
        for priority, waiting in depth.items():
            self.metrics.queue_depth.labels(priority).set(waiting)
        if not self.engine.resumes_from_store:  # shared engine: its counts are the cluster's, not this process's
            self.metrics.jobs.labels("queued").set(sum(depth.values()))
            self.metrics.jobs.labels("running").set(await self.engine.in_progress())
        await self.engine.publish_stats(self.replica, self.snapshot())
        return depth

    def snapshot(self) -> dict[str, Any]:
        """This replica's figures: throughput, jobs it finished by state, Triton calls in flight."""
        finished = {
            sample.labels["state"]: int(sample.value)
            for metric in self.metrics.jobs_finished.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        }
        return {
            "replica": self.replica, "at": time.time(), "gateway": self.stats.snapshot(), "finished": finished,
            "in_flight": self.limiter.in_flight, "max_in_flight": self.limiter.capacity,
        }

    async def cluster(self) -> dict[str, Any]:
        """Every live replica's figures added up (this one's fresh), and how many answered."""
        depth = await self.refresh()
        replicas = await self.engine.replica_stats()
        replicas[self.replica] = self.snapshot()
        each = list(replicas.values())
        finished: dict[str, int] = {}
        for snapshot in each:
            for state, count in snapshot.get("finished", {}).items():
                finished[state] = finished.get(state, 0) + count
        return {
            "engine": self.engine.name,
            "gateway": aggregate([snapshot["gateway"] for snapshot in each]),
            "jobs": {"queued": sum(depth.values()), "running": await self.engine.in_progress(), **finished},
            "in_flight": sum(snapshot.get("in_flight", 0) for snapshot in each),
            "max_in_flight": sum(snapshot.get("max_in_flight", 0) for snapshot in each),
            "queue_depth": sum(depth.values()),
            "queue_depth_by_priority": depth,
            "replicas": {"answered": len(each), "names": sorted(replicas)},
        }
