"""Job engines: where accepted jobs wait and how job events travel (see :mod:`.base`)."""

from __future__ import annotations

import os
import re
import socket

from gateway.core.config import Settings
from gateway.jobs.engine.base import Delivery, JobEngine
from gateway.jobs.engine.local import InProcessEngine

__all__ = ["Delivery", "InProcessEngine", "JobEngine", "open_engine", "replica_name"]


def replica_name(settings: Settings) -> str:
    """GATEWAY_REPLICA_NAME, else ``<host>-<pid>``; only characters a NATS KV key allows."""
    name = settings.replica_name or f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^-_=.a-zA-Z0-9]", "_", name)


def open_engine(settings: Settings) -> JobEngine:
    """NATS JetStream when GATEWAY_NATS_URL is set, else the in-process engine (not started yet)."""
    if not settings.nats_url:
        return InProcessEngine(settings.job_max_deliveries)
    from gateway.jobs.engine.jetstream import JetStreamEngine  # nats-py: only when configured

    return JetStreamEngine(
        settings.nats_url, settings.nats_ack_wait_s, settings.job_max_deliveries,
        stats_ttl_s=max(3 * settings.stats_interval_s, 1.0), client_name=f"gateway-{replica_name(settings)}",
    )
