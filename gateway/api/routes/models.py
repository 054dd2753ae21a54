"""Model versions: `GET /v1/models` for everyone with access; load / swap / rollback / pin need an API
key. `GET /v1/classes` (``classes_router``): the detector classes served."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from gateway.api.deps import Authenticated, ServicesDep, require_admin_key
from gateway.api.schemas import ClassList, ModelLoaded, ModelPinned, ModelSwapped, ModelUnpinned, ServedModelList
from gateway.core.errors import InvalidRequestError, ModelNotFoundError
from gateway.inference.classes import served_classes
from gateway.inference.models import ModelAdmin

router = APIRouter(prefix="/v1/models", tags=["models"], dependencies=Authenticated)
admin = [Depends(require_admin_key)]


def get_admin(services: ServicesDep) -> ModelAdmin:
    return services.models


AdminDep = Annotated[ModelAdmin, Depends(get_admin)]
MODEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


async def known_model(model: str, models: AdminDep) -> str:
    """The path's model name, if it is one of the repository's models (never a path such as ``..``)."""
    if not MODEL_NAME.fullmatch(model) or ".." in model:
        raise InvalidRequestError(f"{model[:60]!r} is not a model name (letters, digits, '_', '.', '-')")
    repository = models.control.repository
    known = await asyncio.to_thread(repository.models)
    if model not in known:
        raise ModelNotFoundError(f"no model {model!r} in {repository.root}; models: {', '.join(known)}")
    return model


ModelName = Annotated[str, Depends(known_model)]
VersionBody = Annotated[int | None, Body(embed=True, description="version; empty: the newest on disk (swap only)")]


@router.get("", summary="Models, their versions and states, the swap history, pinned versions and detector classes")
async def list_models(models: AdminDep) -> ServedModelList:
    listed = await models.models()
    classes = await asyncio.to_thread(served_classes, models.control.repository, listed)
    return ServedModelList.model_validate({"models": [{**entry, "classes": classes.get(entry["name"], [])} for entry in listed]})


classes_router = APIRouter(prefix="/v1/classes", tags=["models"], dependencies=Authenticated)


@classes_router.get("", summary="The classes the served detectors find: what blur_classes may name")
async def list_classes(models: AdminDep) -> ClassList:
    by_model = await asyncio.to_thread(served_classes, models.control.repository, await models.models())
    return ClassList(classes=sorted({name for names in by_model.values() for name in names}), models=by_model)


@router.post("/{model}/load", dependencies=admin, summary="(Re)load a model from its files (the old one serves meanwhile)")
async def load(model: ModelName, models: AdminDep) -> ModelLoaded:
    return ModelLoaded.model_validate(await models.load(model))


@router.post("/{model}/swap", dependencies=admin, summary="Serve another version (no request fails)")
async def swap(model: ModelName, models: AdminDep, version: VersionBody = None) -> ModelSwapped:
    return ModelSwapped.model_validate(await models.swap(model, version))


@router.post("/{model}/rollback", dependencies=admin, summary="Serve again the version served before the last swap")
async def rollback(model: ModelName, models: AdminDep) -> ModelSwapped:
    return ModelSwapped.model_validate(await models.rollback(model))


@router.post("/{model}/pins", dependencies=admin, summary="Keep a version loaded for requests that pin it")
async def pin(model: ModelName, models: AdminDep, version: Annotated[int, Body(embed=True)]) -> ModelPinned:
    return ModelPinned(model=model, version=version, serving_models=await models.pin(model, version))


@router.delete("/{model}/pins/{version}", dependencies=admin, summary="Drop a pinned version")
async def unpin(model: ModelName, version: int, models: AdminDep) -> ModelUnpinned:
    return ModelUnpinned(model=model, version=version, removed_models=await models.unpin(model, version))

