"""Prometheus metrics (one registry per app, so several apps can live in one process) and the
ASGI middleware that counts requests by route template and status."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    """Everything /metrics exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds", "HTTP latency by route", ["method", "route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.triton_latency = Histogram(
            "gateway_triton_call_duration_seconds", "Triton inference calls by outcome", ["outcome"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.jobs = Gauge("gateway_jobs", "Jobs seen by this process, by current state", ["state"], registry=self.registry)
        self.jobs_finished = Counter("gateway_jobs_finished", "Jobs that reached a final state", ["state"], registry=self.registry)
        self.in_flight = Gauge("gateway_triton_in_flight", "Triton calls in flight", registry=self.registry)
        self.queue_depth = Gauge(
            "gateway_job_queue_depth", "Jobs waiting for a worker, by priority (the engine's: every replica's)", ["priority"],
            registry=self.registry,
        )
        # Per Triton backend (label: its gRPC address), see gateway.inference.backends
        self.backend_calls = Counter(
            "gateway_triton_backend_calls", "Inference calls sent to each Triton backend", ["backend"], registry=self.registry
        )
        self.backend_failures = Counter(
            "gateway_triton_backend_failures", "Calls a Triton backend failed, by gateway error code (image errors excluded)",
            ["backend", "error"], registry=self.registry,
        )
        self.backend_up = Gauge(
            "gateway_triton_backend_up", "1 while a Triton backend takes calls, 0 while it is out (circuit open)", ["backend"],
            registry=self.registry,
        )
        self.backend_in_flight = Gauge(
            "gateway_triton_backend_in_flight", "Inference calls in flight on each Triton backend", ["backend"], registry=self.registry
        )

        self.webhook_deliveries = Counter(
            "gateway_webhook_deliveries", "Webhook deliveries that ended, by state (delivered, failed)", ["state"],
            registry=self.registry,
        )

    def job_moved(self, old: str | None, new: str | None) -> None:
        """A job left state ``old`` (None: it is new) for ``new`` (None: it was deleted)."""
        if old is not None:
            self.jobs.labels(old).dec()
        if new is not None:
            self.jobs.labels(new).inc()


class RequestMetricsMiddleware:
    """Pure ASGI (streams such as SSE pass through untouched); the route label is the template."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
