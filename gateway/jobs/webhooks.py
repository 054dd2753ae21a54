"""Webhooks: a job's outcome POSTed to its ``callback_url`` once it ends, signed and retried.

- Accepting: :func:`check_callback_url` refuses (``422 callback_not_allowed``) a URL that is not
  http(s), carries credentials, or names a host outside GATEWAY_WEBHOOK_ALLOWED_HOSTS (exact names,
  or ``*.domain`` for its subdomains); with no allowed hosts or no secret, every callback.
- Signing: ``X-Webhook-Timestamp: <unix s>`` and ``X-Signature-256: sha256=<hex HMAC-SHA256 of
  timestamp + "." + body>`` under GATEWAY_WEBHOOK_SECRET; ``X-Webhook-Id`` is the job id.
- Delivering: the replica that finishes a job POSTs from a task of its own (workers never wait);
  connection errors, timeouts, 5xx and 429 are retried with exponential back-off (tenacity), any
  other answer but 2xx ends it (3xx too: redirects are never followed). Every attempt is saved in
  ``webhooks/<id>.json`` (shown as the job's ``webhook``).
- Never lost: ``webhooks-pending/<id>`` is written when the job is accepted and removed once the
  delivery ended, so a delivery that a shutdown (or ``kill -9``) interrupted is made again when the
  gateway next starts (at least once: receivers deduplicate on ``X-Webhook-Id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential

from gateway.core.errors import (
    CallbackNotAllowedError,
    CorruptRecordError,
    JobNotFoundError,
    ObjectMissingError,
    StorageError,
)
from gateway.core.periodic import Periodic
from gateway.jobs.models import Callback, Job, JobStatus, WebhookAttempt, WebhookDelivery, now, utc_text
from gateway.jobs.repository import WEBHOOK_PENDING_PREFIX, JobRepository, webhook_key, webhook_pending_key

logger = logging.getLogger(__name__)

MAX_URL_CHARS = 2048
MAX_CONCURRENT = 32  # deliveries POSTing at once (each job's delivery is its own task)
SIGNATURE_HEADER = "X-Signature-256"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
ID_HEADER = "X-Webhook-Id"


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """``host`` equals an allowed name, or is a subdomain of a ``*.domain`` entry (not the domain itself)."""
    host = host.lower().rstrip(".")
    for pattern in (entry.strip().lower().rstrip(".") for entry in allowed_hosts):
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
            return True
        if host == pattern:
            return True
    return False


def check_callback_url(url: str, allowed_hosts: list[str], signing: bool) -> str:
    """``url`` when webhooks are configured (``signing``: a secret is set) and it is an allowed
    http(s) URL without credentials; else CallbackNotAllowedError naming the rule."""
    if not allowed_hosts or not signing:
        missing = "GATEWAY_WEBHOOK_ALLOWED_HOSTS is empty" if not allowed_hosts else "GATEWAY_WEBHOOK_SECRET is not set"
        raise CallbackNotAllowedError(f"callbacks are not enabled on this gateway ({missing})")
    if len(url) > MAX_URL_CHARS or any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise CallbackNotAllowedError(f"callback_url must be a URL of at most {MAX_URL_CHARS} characters without spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError for a port that is not a number in 0-65535
    except ValueError as error:
        raise CallbackNotAllowedError(f"callback_url is not a valid URL: {error}") from None
    if port == 0:
        raise CallbackNotAllowedError("callback_url is not a valid URL: port 0 cannot be connected to")
    if parts.scheme not in ("http", "https"):
        raise CallbackNotAllowedError(f"callback_url must be http or https, got {parts.scheme or 'no scheme'!r}")
    if parts.username is not None or parts.password is not None:
        raise CallbackNotAllowedError("callback_url must not carry credentials (user:password@)")
    if not parts.hostname or not host_allowed(parts.hostname, allowed_hosts):
        raise CallbackNotAllowedError(
            f"callback host {parts.hostname or '(none)'!r} is not in GATEWAY_WEBHOOK_ALLOWED_HOSTS ({', '.join(allowed_hosts)})"
        )
    return url


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Signature-256`` value: ``sha256=`` + hex HMAC-SHA256 of ``timestamp.body``."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, tolerance_s: float = 300.0) -> bool:
    """What a receiver checks: the signature matches and the timestamp is within ``tolerance_s``."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= tolerance_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def retry_after_seconds(value: str) -> float | None:
    """A ``Retry-After`` header's delay in seconds; None when absent, an HTTP date or not ASCII
    digits (``str.isdigit`` also accepts '²', which ``float`` refuses)."""
    value = value.strip()
    return float(value) if value.isascii() and value.isdigit() else None


def payload(job: Job, timestamp: str) -> dict[str, Any]:
    """The JSON body: the job's outcome and where to fetch its record, metadata and result."""
    status_url = f"{job.callback.links_base.rstrip('/')}/v1/jobs/{job.job_id}" if job.callback else None
    succeeded = job.status == JobStatus.succeeded
    return {
        "job_id": job.job_id,
        "status": job.status.value,
        "error": job.error.model_dump() if job.error else None,
        "status_url": status_url,
        "metadata_url": f"{status_url}/metadata" if succeeded and status_url else None,
        "result_url": f"{status_url}/result" if succeeded and status_url else None,
        "filename": job.filename,
        "created_at": utc_text(job.created_at),
        "finished_at": utc_text(job.finished_at) if job.finished_at else None,
        "timestamp": int(timestamp),
    }


class RetryableDelivery(Exception):
    """No answer, a timeout, a 5xx or a 429: tried again after the back-off delay (or the
    receiver's ``Retry-After`` in seconds, when longer; never past GATEWAY_WEBHOOK_MAX_DELAY_S)."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class RefusedDelivery(Exception):
    """Any other answer that is not 2xx (a 4xx, a redirect): not tried again."""


class WebhookDispatcher:
    """Delivers finished jobs' outcomes in background tasks; see the module's docstring."""

    def __init__(
        self, repository: JobRepository, secret: str, attempts: int = 5, initial_delay_s: float = 1.0,
        max_delay_s: float = 60.0, timeout_s: float = 10.0, on_ended: Callable[[str], None] | None = None,
    ) -> None:
        """``on_ended`` is called with ``delivered`` or ``failed`` as each delivery ends (metrics)."""
        self.repository = repository
        self.secret = secret.encode()
        self.attempts = attempts
        self.initial_delay_s = initial_delay_s
        self.max_delay_s = max_delay_s
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sweeper: Periodic | None = None
        self._on_ended = on_ended
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self._backoff = wait_exponential(multiplier=initial_delay_s, max=max_delay_s)

    def start(self) -> None:
        """Open the HTTP client: no redirects followed, no proxy or .netrc from the environment."""
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=self.timeout_s)

    async def stop(self) -> None:
        """Cancel the deliveries in progress (each stays pending: made again at the next start)."""
        if self._sweeper is not None:
            await self._sweeper.stop()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def job_finished(self, job: Job) -> None:
        """The job service's hook for a job that ended: deliver in the background if it has a callback."""
        if job.callback is None or job.job_id in self._tasks or self._client is None:
            return
        task = asyncio.create_task(self._deliver(job), name=f"webhook-{job.job_id}")
        self._tasks[job.job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.job_id, None))

    async def resume(self, sweep_s: float | None = None) -> int:
        """Start again every delivery a previous process left pending (its job has ended); then,
        every ``sweep_s``, those left stale by another replica that died (see :meth:`sweep`)."""
        started = await self.sweep(stale_only=False)
        if sweep_s is not None:
            self._sweeper = Periodic("webhook-sweep", sweep_s, self.sweep, survives=(StorageError,), first_delay=True)
            self._sweeper.start()
        return started

    @property
    def stale_after_s(self) -> float:
        """A delivery untouched this long is nobody's: its record is saved after every attempt,
        and attempts are at most GATEWAY_WEBHOOK_TIMEOUT_S + GATEWAY_WEBHOOK_MAX_DELAY_S apart."""
        return 2 * (self.timeout_s + self.max_delay_s)

    async def sweep(self, stale_only: bool = True) -> int:
        """Start the pending deliveries of ended jobs that no task here is making: all of them
        (at start), or ``stale_only`` those untouched for :attr:`stale_after_s` (a replica died
        while delivering; a live one sweeping at the same moment may send it too: at least once)."""
        started = 0
        for key in await self.repository.store.list_keys(WEBHOOK_PENDING_PREFIX):
            job_id = key.removeprefix(WEBHOOK_PENDING_PREFIX)
            if job_id in self._tasks:
                continue
            self.repository.forget(job_id)  # another replica may have ended it
            try:
                job = await self.repository.get(job_id)
            except (JobNotFoundError, CorruptRecordError) as error:
                logger.warning("dropping webhook marker %s: %s", key, error)
                await self.repository.store.delete(key)
                continue
            if not job.status.finished:  # whoever finishes it delivers
                continue
            if stale_only and not await self._stale(job):
                continue
            self.job_finished(job)
            started += 1
        if started:
            logger.info("resumed %d pending webhook delivery(ies)", started)
        return started

    async def _stale(self, job: Job) -> bool:
        """Untouched for :attr:`stale_after_s`: its record's last save, else the job's end."""
        touched = job.finished_at or job.created_at
        with contextlib.suppress(ObjectMissingError, ValueError):  # none yet, or unreadable: judged by the job's end
            touched = (await self._record(job.job_id)).updated_at
        return (now() - touched).total_seconds() > self.stale_after_s

    async def delivery(self, job: Job) -> WebhookDelivery | None:
        """The job's delivery record (pending before its first attempt); None without a callback."""
        if job.callback is None:
            return None
        try:
            return await self._record(job.job_id)
        except ObjectMissingError:
            return WebhookDelivery(url=job.callback.url)

    async def _record(self, job_id: str) -> WebhookDelivery:
        """The saved delivery record: ObjectMissingError when there is none, ValueError when unreadable."""
        return WebhookDelivery.model_validate_json(await self.repository.store.get_bytes(webhook_key(job_id)))

    async def _deliver(self, job: Job) -> None:
        delivery = await self._load(job.job_id, job.callback.url if job.callback else "")
        if delivery.state == "pending":
            try:
                delivery = await self._attempt_all(job, delivery)
            except asyncio.CancelledError:
                reason = "interrupted: the gateway shut down; delivered again at its next start"
                await self._save(job, delivery.model_copy(update={"reason": reason, "updated_at": now()}))
                raise
            except Exception as error:  # noqa: BLE001 - a bug: kept pending (its marker stays), delivered at the next start
                logger.exception("job %s: webhook delivery broke", job.job_id)
                reason = f"unexpected {type(error).__name__}; delivered again at the gateway's next start"
                await self._save(job, delivery.model_copy(update={"reason": reason, "updated_at": now()}))
                return
        try:
            await self.repository.store.delete(webhook_pending_key(job.job_id))
            await self._drop_if_job_deleted(job)
        except StorageError as error:
            logger.warning("job %s: webhook marker not removed (%s); it is delivered again at the next start", job.job_id, error)

    async def _attempt_all(self, job: Job, delivery: WebhookDelivery) -> WebhookDelivery:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts), retry=retry_if_exception_type(RetryableDelivery), reraise=True,
            wait=self._delay,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._post(job, delivery)
        except RetryableDelivery as error:
            return await self._end(job, delivery, "failed", f"gave up after {self.attempts} attempt(s) (GATEWAY_WEBHOOK_ATTEMPTS); last: {error}")
        except RefusedDelivery as error:
            return await self._end(job, delivery, "failed", f"the receiver refused it: {error} (not retried)")
        return await self._end(job, delivery, "delivered", None)

    def _delay(self, state: RetryCallState) -> float:
        """The back-off before the next attempt: exponential, or the receiver's Retry-After if longer."""
        failure = state.outcome.exception() if state.outcome is not None else None
        asked = getattr(failure, "retry_after_s", None) or 0.0
        return min(self.max_delay_s, max(self._backoff(state), asked))

    async def _post(self, job: Job, delivery: WebhookDelivery) -> None:
        """One signed POST, added to ``delivery`` and saved; raises RetryableDelivery or
        RefusedDelivery unless it got a 2xx."""
        timestamp = str(int(time.time()))
        body = json.dumps(payload(job, timestamp), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, ID_HEADER: job.job_id,
                   SIGNATURE_HEADER: sign(self.secret, timestamp, body)}
        at, started, status, error, retry_after_s = now(), time.monotonic(), None, None, None
        try:
            async with self._slots:
                status, retry_after_s = await asyncio.wait_for(self._send(delivery.url, body, headers), self.timeout_s)
        except (httpx.HTTPError, asyncio.TimeoutError, OSError) as failure:
            error = f"{type(failure).__name__}: {failure}" if str(failure) else f"no answer within {self.timeout_s:g} s"
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        delivery.attempts.append(WebhookAttempt(at=at, status_code=status, error=error, duration_ms=elapsed_ms))
        delivery.updated_at = now()
        await self._save(job, delivery)
        if error is None:
            return
        if status is None or status == 429 or status >= 500:
            raise RetryableDelivery(error, retry_after_s)
        raise RefusedDelivery(error)

    async def _send(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float | None]:
        """POST without reading the answer's body (a receiver cannot make us read much); the
        status and the answer's ``Retry-After`` seconds (None when absent or an HTTP date)."""
        if self._client is None:
            raise RuntimeError("WebhookDispatcher.start() was not called")
        async with self._client.stream("POST", url, content=body, headers=headers) as response:
            return response.status_code, retry_after_seconds(response.headers.get("Retry-After", ""))

    async def _end(self, job: Job, delivery: WebhookDelivery, state: str, reason: str | None) -> WebhookDelivery:
        ended = delivery.model_copy(update={"state": state, "reason": reason, "updated_at": now()})
        if self._on_ended is not None:
            self._on_ended(state)
        if state == "failed":
            logger.warning("job %s: webhook to %s not delivered: %s", job.job_id, delivery.url, reason)
        await self._save(job, ended)
        return ended

    async def _load(self, job_id: str, url: str) -> WebhookDelivery:
        """The saved delivery (a resumed one keeps its attempts), or a new one (also when the
        record is unreadable or the store is away: delivering matters more than its history)."""
        try:
            return await self._record(job_id)
        except (StorageError, ValueError):  # ObjectMissingError is a StorageError; ValidationError a ValueError
            return WebhookDelivery(url=url)

    async def _save(self, job: Job, delivery: WebhookDelivery) -> None:
        """Record the delivery; a store outage costs the record of this step, never the delivery."""
        try:
            await self.repository.store.put_bytes(
                webhook_key(job.job_id), delivery.model_dump_json(indent=1).encode(), "application/json"
            )
        except StorageError as error:
            logger.warning("job %s: webhook attempt not recorded: %s", job.job_id, error)

    async def _drop_if_job_deleted(self, job: Job) -> None:
        """A job deleted while its outcome was being delivered leaves no delivery record behind."""
        try:
            await self.repository.get(job.job_id)
        except JobNotFoundError:
            await self.repository.store.delete(webhook_key(job.job_id))


def callback_for(url: str | None, allowed_hosts: list[str], signing: bool, links_base: str) -> Callback | None:
    """The job's Callback for a request's ``callback_url`` (None when empty); raises CallbackNotAllowedError."""
    if url is None or url == "":
        return None
    return Callback(url=check_callback_url(url, allowed_hosts, signing), links_base=links_base)
