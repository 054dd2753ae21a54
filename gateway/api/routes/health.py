"""Liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.api.deps import ServicesDep
from gateway.core.errors import StorageError

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", summary="Triton ready and storage reachable", responses={503: {"description": "not ready"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    checks["triton"] = "ok" if await services.pipeline.is_ready() else (
        f"model {services.pipeline.model_name!r} at {services.pipeline.url} is not ready"
    )
    try:
        await services.store.check()
        checks["storage"] = "ok"
    except StorageError as error:
        checks["storage"] = str(error)
    failing = {name: state for name, state in checks.items() if state != "ok"}
    if failing:
        detail = "; ".join(f"{name}: {state}" for name, state in failing.items())
        return JSONResponse({"error": "not_ready", "detail": detail, "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
