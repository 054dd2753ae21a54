"""Liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import ServicesDep
from gateway.core.errors import StorageError
from gateway.inference.health import OK, TritonHealth

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get(
    "/readyz", summary="Triton ready, every model answering the canary, storage reachable",
    responses={503: {"description": "not ready"}},
)
async def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    """Three checks, each bounded: Triton's server and model readiness, the cached canary results
    (a tiny PNG through each model, run in the background), and a storage ping."""
    settings, health = services.settings, request.app.state.health
    checks: dict[str, str] = {}
    pipeline = services.pipeline
    checks["triton"] = OK if await pipeline.is_ready(settings.readiness_timeout_s) else (
        f"model {pipeline.model_name!r} at {pipeline.url} is not ready"
    )
    checks["canary"] = canary_check(health)
    try:
        await services.store.ping(settings.readiness_timeout_s)
        checks["storage"] = OK
    except StorageError as error:
        checks["storage"] = str(error)
    body = {"checks": checks, "models": health.checks()}
    failing = {name: state for name, state in checks.items() if state != OK}
    if failing:
        detail = "; ".join(f"{name}: {state}" for name, state in failing.items())
        return JSONResponse({"error": "not_ready", "detail": detail, **body}, status_code=503)
    return JSONResponse({"status": "ready", **body})


def canary_check(health: TritonHealth) -> str:
    failing = {model: detail for model, detail in health.checks().items() if detail != OK}
    return OK if not failing else "; ".join(f"{model}: {detail}" for model, detail in failing.items())


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
