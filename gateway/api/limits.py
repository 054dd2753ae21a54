"""Upload size bounds enforced while the body streams in, before anything is parsed or stored."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.core.config import Settings

FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries, headers and the small form fields
BATCH_PATH = "/v1/jobs/batch"


class UploadLimitMiddleware:
    """Counts request-body bytes as they arrive and stops at the route's limit with 413.

    Raised from ``receive`` inside the route, the HTTPException reaches the app's error handler.
    A single photo may use GATEWAY_MAX_UPLOAD_BYTES; a batch that times GATEWAY_MAX_BATCH_FILES.
    The exact per-file check happens after parsing, in the job service.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.single = settings.max_upload_bytes + FORM_OVERHEAD_BYTES
        self.batch = settings.max_upload_bytes * settings.max_batch_files + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT"):
            await self.app(scope, receive, send)
            return
        limit = self.batch if scope["path"] == BATCH_PATH else self.single
        declared = _content_length(scope)
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise _too_large(declared, limit)
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(received, limit)
            return message

        await self.app(scope, counted_receive, send)


def _too_large(size: int, limit: int) -> HTTPException:
    return HTTPException(413, f"request body of {size}+ bytes is above the limit of {limit} (GATEWAY_MAX_UPLOAD_BYTES)")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
