"""Model versions: `GET /v1/models` for everyone with access; load / swap / rollback / pin need an API key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from gateway.api.deps import Authenticated, ServicesDep, require_admin_key
from gateway.inference.models import ModelAdmin

router = APIRouter(prefix="/v1/models", tags=["models"], dependencies=Authenticated)
admin = [Depends(require_admin_key)]


def get_admin(services: ServicesDep) -> ModelAdmin:
    return services.models


AdminDep = Annotated[ModelAdmin, Depends(get_admin)]
VersionBody = Annotated[int | None, Body(embed=True, description="version; empty: the newest on disk (swap only)")]


@router.get("", summary="Models, their versions and states, the swap history and pinned versions")
async def list_models(models: AdminDep) -> dict[str, Any]:
    return {"models": await models.models()}


@router.post("/{model}/load", dependencies=admin, summary="(Re)load a model from its files (the old one serves meanwhile)")
async def load(model: str, models: AdminDep) -> dict[str, Any]:
    return await models.load(model)


@router.post("/{model}/swap", dependencies=admin, summary="Serve another version (no request fails)")
async def swap(model: str, models: AdminDep, version: VersionBody = None) -> dict[str, Any]:
    return await models.swap(model, version)


@router.post("/{model}/rollback", dependencies=admin, summary="Serve again the version served before the last swap")
async def rollback(model: str, models: AdminDep) -> dict[str, Any]:
    return await models.rollback(model)


@router.post("/{model}/pins", dependencies=admin, summary="Keep a version loaded for requests that pin it")
async def pin(model: str, models: AdminDep, version: Annotated[int, Body(embed=True)]) -> dict[str, Any]:
    return {"model": model, "version": version, "serving_models": await models.pin(model, version)}


@router.delete("/{model}/pins/{version}", dependencies=admin, summary="Drop a pinned version")
async def unpin(model: str, version: int, models: AdminDep) -> dict[str, Any]:
    return {"model": model, "version": version, "removed_models": await models.unpin(model, version)}

