"""METADATA in the OpenAPI document: the contract's JSON Schemas (contracts.metadata) become
`components.schemas` (PipelineMetadata, ProcessMetadata, TranscodeMetadata and the types they use),
so clients generated from /openapi.json know what a job's metadata holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from contracts.metadata import openapi_components


class SchemaNameClash(RuntimeError):
    """A route's model and the contract define different schemas under one name."""


def install_metadata_schemas(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so that the generated document also carries the METADATA schemas."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        document = generate()
        if fresh:
            add_components(document, openapi_components())
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the document


def add_components(document: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> None:
    """``schemas`` into ``document``'s components; SchemaNameClash when a name is taken by another schema."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schemas.items():
        if components.get(name, schema) != schema:
            raise SchemaNameClash(f"OpenAPI component {name!r} is both a route model and a METADATA type")
        components[name] = schema


def binary_response(media_type: str) -> dict[str, Any]:
    """An OpenAPI response whose body is a file of ``media_type`` (a download, a preview)."""
    return {"content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}
