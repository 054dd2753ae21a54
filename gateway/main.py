"""The FastAPI application: ``create_app()``; clients are opened once, in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api.errors import install_error_handlers
from gateway.api.limits import UploadLimitMiddleware
from gateway.api.openapi import install_metadata_schemas
from gateway.api.routes import events, health, jobs, models, previews, process, stats, web
from gateway.core.config import Settings, load_settings
from gateway.core.metrics import GatewayMetrics, RequestMetricsMiddleware
from gateway.inference.health import start_health
from gateway.services import open_services

logger = logging.getLogger(__name__)

DESCRIPTION = """Photo anonymisation in front of Triton: upload a photo, get it back with faces (and
chosen object classes) blurred. Synchronous (`/v1/process`) or as durable jobs (`/v1/jobs`)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, with ``settings`` (else the environment's) as its ``get_settings`` dependency."""
    settings = settings or load_settings()
    metrics = GatewayMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warn_if_open(settings)
        app.state.services = services = await open_services(settings, metrics)
        app.state.health = start_health(settings, services.pipeline, services.models)
        logger.info("gateway ready: Triton %s, model %s, storage %s", settings.triton_url, settings.model_name, settings.storage_url)
        try:
            yield
        finally:
            await app.state.health.stop()
            await services.close()

    app = FastAPI(
        title="Photo anonymisation gateway", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # /docs and /redoc: gateway.api.routes.web, with assets served locally
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    install_metadata_schemas(app)
    for module in (process, jobs, previews, models, events, stats, health, web):
        app.include_router(module.router)
    app.include_router(models.classes_router)
    app.add_middleware(UploadLimitMiddleware, settings=settings)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    return app


def warn_if_open(settings: Settings) -> None:
    """No API keys: say so loudly, louder still when listening beyond this machine."""
    if settings.auth_enabled:
        logger.info("API keys required (%d configured) in the X-API-Key header", len(settings.api_keys))
        return
    if settings.host in ("127.0.0.1", "localhost", "::1"):
        logger.warning("NO AUTHENTICATION: GATEWAY_API_KEYS is empty; anyone on this machine can use the gateway")
    else:
        logger.error(
            "NO AUTHENTICATION while listening on %s: anyone who can reach it can use it; set GATEWAY_API_KEYS",
            settings.host,
        )
