"""Liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import ServicesDep
from gateway.core.errors import QueueUnavailableError, StorageError
from gateway.inference.health import OK, TritonHealth

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readyz", summary="A Triton backend ready with every model answering the canary, storage reachable",
    responses={503: {"description": "not ready"}},
)
async def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    """Ready when at least one Triton backend is up (checked now, bounded: see
    gateway.inference.backends) and passes the cached canary through every model, storage
    answers a ping and the job engine (NATS JetStream, when configured) answers (both bounded).
    ``backends`` reports each backend; with some of them out the gateway stays ready (the others
    take the calls) and ``backends_ready`` says how many of how many serve."""
    settings, health, backends = services.settings, request.app.state.health, services.pipeline
    await backends.check_all()
    ready = health.ready_backends()
    checks: dict[str, str] = {}
    checks["triton"] = OK if any(backend.up for backend in backends.backends) else (
        f"no Triton backend serves {backends.model_name!r}: "
        + ("; ".join(f"{backend.url}: {backend.reason}" for backend in backends.backends) or f"none found at {backends.url}")
    )
    checks["canary"] = OK if ready else canary_check(health)
    try:
        await services.store.ping(settings.readiness_timeout_s)
        checks["storage"] = OK
    except StorageError as error:
        checks["storage"] = str(error)
    try:
        await services.engine.ping(settings.readiness_timeout_s)
        checks["queue"] = OK
    except QueueUnavailableError as error:
        checks["queue"] = str(error)
    per_backend = health.backend_checks()
    body = {
        "checks": checks, "models": health.checks(), "backends_ready": f"{len(ready)}/{len(backends.backends)}",
        "backends": [
            {**backend.state(), "ready": backend.url in ready, "models": per_backend.get(backend.url, {})}
            for backend in backends.backends
        ],
    }
    failing = {name: state for name, state in checks.items() if state != OK}
    if failing:
        detail = "; ".join(f"{name}: {state}" for name, state in failing.items())
        return JSONResponse({"error": "not_ready", "detail": detail, **body}, status_code=503)
    return JSONResponse({"status": "ready", **body})


def canary_check(health: TritonHealth) -> str:
    failing = {model: detail for model, detail in health.checks().items() if detail != OK}
    if not failing:
        return "no backend that is up passes every canary"
    return "; ".join(f"{model}: {detail}" for model, detail in failing.items())


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
