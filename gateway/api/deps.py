"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from gateway.core.config import Settings, get_settings
from gateway.core.errors import AdminDisabledError, UnauthorizedError
from gateway.inference.service import Inference
from gateway.jobs.service import JobService
from gateway.services import Services

API_KEY_HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="needed when GATEWAY_API_KEYS is set")


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_jobs(services: Annotated[Services, Depends(get_services)]) -> JobService:
    return services.jobs


def get_inference(services: Annotated[Services, Depends(get_services)]) -> Inference:
    return services.inference


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServicesDep = Annotated[Services, Depends(get_services)]
JobsDep = Annotated[JobService, Depends(get_jobs)]
InferenceDep = Annotated[Inference, Depends(get_inference)]


def require_api_key(settings: SettingsDep, api_key: Annotated[str | None, Security(_api_key_header)]) -> None:
    """Pass when no keys are configured, or when the header matches one of them."""
    if not settings.api_keys:
        return
    if not api_key:
        raise UnauthorizedError(f"an API key is required in the {API_KEY_HEADER} header")
    if not any(secrets.compare_digest(api_key.encode(), key.encode()) for key in settings.api_keys):
        raise UnauthorizedError(f"the {API_KEY_HEADER} header does not match a configured key")


Authenticated = [Depends(require_api_key)]


def require_admin_key(settings: SettingsDep, api_key: Annotated[str | None, Security(_api_key_header)]) -> None:
    """Admin routes (model swaps) always need a key: refused outright when none is configured."""
    if not settings.api_keys:
        raise AdminDisabledError("admin endpoints need API keys: set GATEWAY_API_KEYS and send one in X-API-Key")
    require_api_key(settings, api_key)


def link(request: Request, settings: Settings, name: str, **path: str) -> str:
    """An absolute URL for route ``name``, on GATEWAY_PUBLIC_URL when set."""
    url = request.url_for(name, **path)
    if settings.public_url:
        return settings.public_url.rstrip("/") + url.path
    return str(url)
