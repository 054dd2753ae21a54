"""The gateway's public job API over HTTP (httpx): submit, long-poll, fetch the result.

Every error answer is the gateway's JSON ``{"error": code, "detail": text}``, raised as
:class:`GatewayError`. Busy answers (``429 busy`` / ``queue_full``) are retried after their
``Retry-After`` for as long as they last (every accepted job ends, so the queue drains); 502,
503 and 504 answers and connection failures are retried with back-off, then a 5xx fails the file
and a connection failure stops the run (:class:`GatewayUnreachable`). ``401`` is a UsageError: the
key is wrong for every file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import httpx

from anonymise.errors import GatewayError, GatewayUnreachable, UsageError

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"  # the gateway's header (GATEWAY_API_KEYS)
LONG_POLL_S = 30.0
RETRY_AFTER_CAP_S = 30.0
TRANSIENT_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Submission:
    """What every job of a run asks for: ``priority`` (high|normal|low), ``format``, model ``options``."""

    priority: str | None = None
    format: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def form(self) -> dict[str, str]:
        """The multipart fields of ``POST /v1/jobs``."""
        fields = {"priority": self.priority, "format": self.format}
        form = {name: value for name, value in fields.items() if value}
        if self.options:
            form["options"] = json.dumps(self.options)
        return form

    def reference(self, input_image: str) -> dict[str, Any]:
        """The JSON body of ``POST /v1/jobs`` for a photo the gateway reads itself (``s3://``)."""
        body: dict[str, Any] = {"input_image": input_image, "options": self.options}
        if self.priority:
            body["priority"] = self.priority
        if self.format:
            body["format"] = self.format
        return body

    def fingerprinted(self) -> dict[str, Any]:
        """What changes the results (not the priority), for the journal's options fingerprint."""
        return {"format": self.format, "options": self.options}


class GatewayClient:
    """One HTTP connection pool to the gateway at ``url``; use as an async context manager.

    ``timeout_s`` bounds each request (a long poll waits up to 30 s more); ``attempts`` is how
    often a transient failure is tried before it counts.
    """

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 120.0, attempts: int = 5,
                 backoff_s: float = 0.5) -> None:
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=url.rstrip("/"), headers=headers, timeout=httpx.Timeout(timeout_s + LONG_POLL_S, connect=10.0),
        )
        self.url = url
        self.attempts = attempts
        self.backoff_s = backoff_s

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    async def submit_upload(self, data: bytes, filename: str, submission: Submission) -> str:
        """``POST /v1/jobs`` with the photo as multipart ``file``; answers the job id."""
        reply = await self._request(
            "POST", "/v1/jobs", files={"file": (filename, data, "application/octet-stream")}, data=submission.form(),
        )
        return str(reply.json()["job_id"])

    async def submit_reference(self, input_image: str, submission: Submission) -> str:
        """``POST /v1/jobs`` naming an ``s3://`` object the gateway reads (it must be in GATEWAY_ALLOWED_BUCKETS)."""
        reply = await self._request("POST", "/v1/jobs", json=submission.reference(input_image))
        return str(reply.json()["job_id"])

    async def job(self, job_id: str, wait_s: float = 0.0) -> dict[str, Any]:
        """The job record (``GET /v1/jobs/{id}``), long-polling up to ``wait_s`` for it to finish."""
        params = {"wait": wait_s} if wait_s else None
        reply = await self._request("GET", f"/v1/jobs/{job_id}", params=params)
        return dict(reply.json())

    async def finished_job(self, job_id: str) -> dict[str, Any]:
        """The job record once it has succeeded or failed."""
        while True:
            record = await self.job(job_id, LONG_POLL_S)
            if record["status"] in ("succeeded", "failed"):
                return record

    async def result(self, job_id: str) -> tuple[bytes, str]:
        """The processed photo and its Content-Type (``GET /v1/jobs/{id}/result``)."""
        reply = await self._request("GET", f"/v1/jobs/{job_id}/result")
        return reply.content, reply.headers.get("content-type", "")

    async def classes(self) -> list[str]:
        """What ``blur_classes`` may name (``GET /v1/classes``)."""
        reply = await self._request("GET", "/v1/classes")
        return [str(name) for name in reply.json()["classes"]]

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        failures = 0
        while True:
            try:
                reply = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as failure:
                failures += 1
                if failures >= self.attempts:
                    raise GatewayUnreachable(f"no answer from the gateway at {self.url}: {failure!r}") from None
                await asyncio.sleep(self.backoff_s * 2 ** (failures - 1))
                continue
            if reply.status_code < 400:
                return reply
            if reply.status_code == 429:
                await asyncio.sleep(_retry_after(reply))
                continue
            error = _gateway_error(reply)
            if reply.status_code == 401:
                raise UsageError(f"the gateway refused the API key ({error}); pass --api-key or ANONYMISE_API_KEY")
            failures += 1
            if reply.status_code not in TRANSIENT_STATUSES or failures >= self.attempts:
                raise error
            logger.debug("%s %s: %s, retrying", method, path, error)
            await asyncio.sleep(max(_retry_after(reply), self.backoff_s * 2 ** (failures - 1)))


def _retry_after(reply: httpx.Response) -> float:
    """Seconds to wait from ``Retry-After`` (delta-seconds), within 0.1 and RETRY_AFTER_CAP_S; 1.0 when
    it is absent, an HTTP date or not a finite number (``nan`` or ``inf`` from a proxy)."""
    try:
        seconds = float(reply.headers.get("retry-after", "1"))
    except ValueError:
        return 1.0
    return min(max(seconds, 0.1), RETRY_AFTER_CAP_S) if math.isfinite(seconds) else 1.0


def _gateway_error(reply: httpx.Response) -> GatewayError:
    """The gateway's ``{"error", "detail"}``; anything else (a proxy's page) as ``http_<status>``."""
    try:
        body = reply.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return GatewayError(body["error"], str(body.get("detail", "")), reply.status_code)
    return GatewayError(f"http_{reply.status_code}", reply.text[:200].strip() or reply.reason_phrase, reply.status_code)
