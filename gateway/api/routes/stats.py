"""``GET /v1/stats``: throughput and success rate of every replica, per-model counts from Triton."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gateway.api.deps import Authenticated, ServicesDep
from gateway.api.schemas import Stats, TritonModelStats, TritonStats, TritonUnreachable
from gateway.core.errors import GatewayError
from gateway.services import Services

router = APIRouter(prefix="/v1", tags=["stats"], dependencies=Authenticated)


@router.get("/stats", summary="Throughput, success rate, jobs by state, Triton's per-model counts, over every replica")
async def stats(services: ServicesDep) -> Stats:
    """Every live replica's figures added up (``replicas.answered`` says how many; with the
    in-process engine, one), jobs by state and queue depth from the engine, Triton's counts."""
    return Stats.model_validate({**await services.figures.cluster(), "triton": await _triton_models(services)})


async def _triton_models(services: Services) -> TritonStats | TritonUnreachable:
    try:
        models = await services.pipeline.model_statistics()
    except GatewayError as error:
        return TritonUnreachable(url=services.pipeline.url, error=str(error))
    return TritonStats(url=services.pipeline.url, models=[_model_summary(model) for model in models])


def _model_summary(model: dict[str, Any]) -> TritonModelStats:
    """Triton's JSON statistics of one model version, reduced to counts and mean times."""
    inference = model.get("inference_stats", {})
    success = inference.get("success", {})
    successes = int(success.get("count", 0))

    def mean_ms(name: str) -> float | None:
        part = inference.get(name, {})
        count = int(part.get("count", 0))
        return round(int(part.get("ns", 0)) / count / 1e6, 3) if count else None

    return TritonModelStats(
        name=model.get("name"),
        version=model.get("version"),
        inference_count=int(model.get("inference_count", 0)),
        execution_count=int(model.get("execution_count", 0)),
        success_count=successes,
        fail_count=int(inference.get("fail", {}).get("count", 0)),
        mean_request_ms=mean_ms("success"),
        mean_queue_ms=mean_ms("queue"),
        mean_compute_ms=mean_ms("compute_infer"),
    )
