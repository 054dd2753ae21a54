"""The composition root: every long-lived client and worker, opened once by the app's lifespan."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateway.core.config import Settings
from gateway.core.metrics import GatewayMetrics
from gateway.core.stats import ThroughputStats
from gateway.inference.addresses import parse_addresses
from gateway.inference.backends import TritonBackends
from gateway.inference.limiter import InFlightLimiter
from gateway.inference.models import ModelAdmin
from gateway.inference.service import Inference
from gateway.jobs.engine import JobEngine, open_engine, replica_name
from gateway.jobs.engine.figures import EngineFigures
from gateway.jobs.events import JobEvents
from gateway.jobs.repository import JobRepository
from gateway.jobs.retention import Retention, RetentionSweeper
from gateway.jobs.runner import Backoff, JobRunner
from gateway.jobs.service import JobService
from gateway.jobs.sources import ObjectAccess
from gateway.jobs.webhooks import WebhookDispatcher
from gateway.storage import Store, open_store
from gateway.storage.s3 import S3Client, make_s3_client

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    metrics: GatewayMetrics
    store: Store
    pipeline: TritonBackends  # every Triton backend (gateway.inference.backends)
    models: ModelAdmin
    inference: Inference
    events: JobEvents
    jobs: JobService
    runner: JobRunner
    s3_client: S3Client | None
    engine: JobEngine
    figures: EngineFigures
    sweeper: RetentionSweeper | None = None
    webhooks: WebhookDispatcher | None = None

    async def close(self) -> None:
        if self.sweeper is not None:
            await self.sweeper.stop()
        await self.figures.stop()
        await self.runner.stop()
        await self.engine.close()  # after the workers: their unfinished deliveries were handed back
        if self.webhooks is not None:
            await self.webhooks.stop()  # deliveries in progress stay pending: made again at the next start
        await self.pipeline.close()
        self.models.close()
        self.store.close()
        if self.s3_client is not None:
            self.s3_client.close()


async def open_services(settings: Settings, metrics: GatewayMetrics) -> Services:
    """Open storage and the Triton client, resume unfinished jobs, start the workers."""
    needs_s3 = settings.storage_url.startswith("s3://") or bool(settings.allowed_buckets)
    s3_client = make_s3_client(
        settings.s3_endpoint_url, settings.s3_region, settings.s3_connect_timeout_s, settings.s3_read_timeout_s,
        settings.s3_max_attempts,
    ) if needs_s3 else None
    store = open_store(settings.storage_url, s3_client, settings.multipart_threshold_bytes, settings.storage_timeout_s)
    pipeline = open_backends(settings, metrics)
    limiter = InFlightLimiter(settings.max_in_flight, on_change=metrics.in_flight.set)
    models = {"pipeline": settings.model_name, "transcode": settings.transcode_model, "process": settings.process_model}
    admin = ModelAdmin(settings, pipeline)
    inference = Inference(pipeline, limiter, metrics, ThroughputStats(), models, route=admin.route)
    events = JobEvents()
    engine = open_engine(settings)
    access = ObjectAccess(settings.allowed_roots, settings.allowed_buckets, s3_client, settings.storage_timeout_s)
    repository = JobRepository(store)
    retention = Retention(repository, settings.keep_originals_s, settings.keep_jobs_s)
    jobs = JobService(
        repository, engine, events, metrics, access, settings.max_upload_bytes, settings.max_pixels,
        settings.max_queued_jobs, retention,
    )
    runner = JobRunner(
        jobs, inference, settings.workers, Backoff(settings.retry_initial_s, settings.retry_max_s),
        settings.job_deadline_s, settings.job_max_timeouts, settings.job_max_crashes,
    )
    figures = EngineFigures(engine, metrics, inference.stats, limiter, replica_name(settings), settings.stats_interval_s)
    sweeper = RetentionSweeper(jobs, settings.retention_sweep_s, settings.retention_sweep_limit)
    webhooks = WebhookDispatcher(
        repository, settings.webhook_secret.get_secret_value(), settings.webhook_attempts,
        settings.webhook_initial_delay_s, settings.webhook_max_delay_s, settings.webhook_timeout_s,
        on_ended=lambda state: metrics.webhook_deliveries.labels(state).inc(),
    )
    webhooks.start()
    jobs.on_finished.append(webhooks.job_finished)
    services = Services(
        settings, metrics, store, pipeline, admin, inference, events, jobs, runner, s3_client, engine, figures, sweeper, webhooks,
    )
    try:
        await store.check()
        await repository.ensure_index()  # jobs recorded before the listing markers existed (once per store)
        await engine.start(on_event=jobs.heard, on_exhausted=runner.exhausted)
        if engine.resumes_from_store:  # a shared engine keeps the queue: the store is not scanned
            await jobs.resume()
        await webhooks.resume(settings.webhook_sweep_s)
    except Exception:
        await services.close()
        raise
    pipeline.start()
    runner.start()
    figures.start()
    sweeper.start()
    return services


def open_backends(settings: Settings, metrics: GatewayMetrics) -> TritonBackends:
    """The Triton backends of GATEWAY_TRITON_URLS (else GATEWAY_TRITON_URL), probed with the retry back-off."""
    return TritonBackends(
        parse_addresses(settings.triton_addresses), settings.model_name, settings.model_version, settings.triton_timeout_s, metrics,
        probe_initial_s=settings.retry_initial_s, probe_max_s=settings.backend_probe_max_s,
        probe_timeout_s=settings.readiness_timeout_s, dns_refresh_s=settings.triton_dns_refresh_s,
    )
