"""The one place where exceptions become HTTP answers: ``{"error": code, "detail": text}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.core import errors
from gateway.core.config import Settings, get_settings
from imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    InvalidOptionError,
    UnsupportedFormatError,
)
from triton_launcher.errors import (
    ComposingModelError,
    ControlUnavailableError,
    ModelControlError,
    ModelLoadError,
    NothingToRollBackError,
    VersionNotFoundError,
    VersionNotPinnedError,
)

logger = logging.getLogger(__name__)

# Most specific class first wins (looked up along the exception's MRO).
STATUS: dict[type[Exception], int] = {
    EmptyImageError: 400,
    CorruptImageError: 422,
    UnsupportedFormatError: 415,
    ImageTooLargeError: 413,
    InvalidOptionError: 422,
    ImageError: 422,
    errors.InvalidRequestError: 422,
    errors.UploadTooLargeError: 413,
    errors.AccessDeniedError: 403,
    errors.AdminDisabledError: 403,
    errors.UnauthorizedError: 401,
    errors.JobNotFoundError: 404,
    errors.ModelNotFoundError: 404,
    errors.SourceNotFoundError: 404,
    errors.JobNotFinishedError: 409,
    errors.JobFailedError: 409,
    errors.CallbackNotAllowedError: 422,
    errors.JobRunningError: 409,
    errors.NotAFileError: 422,
    errors.BusyError: 429,
    errors.QueueFullError: 429,
    errors.TritonUnavailableError: 503,
    errors.InferenceTimeoutError: 504,
    errors.InferenceError: 502,
    errors.StorageError: 503,
    errors.QueueUnavailableError: 503,
    errors.GatewayError: 500,
    VersionNotFoundError: 404,
    VersionNotPinnedError: 409,
    NothingToRollBackError: 409,
    ComposingModelError: 409,
    ModelLoadError: 422,
    ControlUnavailableError: 503,
    ModelControlError: 500,
}
# Model control errors come from the launcher, which has no HTTP codes of its own.
CONTROL_CODES: dict[type[Exception], str] = {
    VersionNotFoundError: "version_not_found",
    VersionNotPinnedError: "version_not_pinned",
    NothingToRollBackError: "nothing_to_roll_back",
    ComposingModelError: "composing_model",
    ModelLoadError: "model_load_failed",
    ControlUnavailableError: "triton_unavailable",
}
RETRY_LATER = {429, 503, 504}

# Framework-raised HTTP errors get a code too.
HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
    413: "upload_too_large", 415: "unsupported_media_type",
}


def status_for(error: Exception) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(status: int, code: str, detail: str, retry_after_s: int | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None and status in RETRY_LATER else None
    if status == 401:
        headers = {"WWW-Authenticate": "ApiKey"}
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


async def known_error(request: Request, error: Exception) -> JSONResponse:
    status = status_for(error)
    code = getattr(error, "code", None) or CONTROL_CODES.get(type(error), "internal_error")
    if status >= 500:
        logger.warning("%s %s -> %d %s: %s", request.method, request.url.path, status, code, error)
    retry_after = _settings(request).retry_after_s
    return error_response(status, code, str(error), retry_after)


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors())
    return error_response(422, "invalid_request", problems)


async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(error.status_code, "http_error")
    response = error_response(error.status_code, code, str(error.detail))
    response.headers.update(error.headers or {})
    return response


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    """Last resort: a bug is logged with its traceback and answered as JSON, never as plain text."""
    logger.error("%s %s -> 500 internal_error", request.method, request.url.path, exc_info=error)
    return error_response(500, "internal_error", f"unexpected {type(error).__name__}; see the gateway log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.GatewayError, known_error)
    app.add_exception_handler(ImageError, known_error)
    app.add_exception_handler(ModelControlError, known_error)
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)


def _settings(request: Request) -> Settings:
    """The settings dependency, resolved by hand (handlers take no dependencies)."""
    return get_settings(request)
