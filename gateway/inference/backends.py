"""Many Tritons behind one gateway: spread calls, take a failing one out, retry elsewhere.

- **Spreading: least in flight.** Each call goes to the backend with the fewest calls in flight
  from this gateway, ties taken in turn (round robin among equals); a backend whose last canary
  of the called model failed is used only when no other is up.
- **Taking out (circuit breaker).** A backend that fails a call or a canary as unavailable
  (connection refused or reset, no answer: ``TritonUnavailableError``), or that does not answer
  a liveness check (``check_all``: /readyz, the job workers), is taken out (``up`` false). A probe
  asks it every ``probe_initial_s``, doubling up to ``probe_max_s``, whether the server and the
  model are ready (gRPC ServerReady and ModelReady, the answers of ``/v2/health/ready``), each time
  on a fresh channel, and puts it back when they are. Up backends are asked liveness, not
  readiness: Triton's strict readiness is false while any model loads, e.g. during a swap. When
  no backend is up, a call probes them all at once before giving up with ``503 triton_unavailable``.
- **Retrying.** Inference here is idempotent (same input, same output), so a call that failed as
  unavailable, or that a backend refused with a full queue, is sent to the next backend not yet
  tried. A deadline (``504``), an image error and a model crash are not retried here: a crash may be
  the photo's doing (jobs retry crashes, bounded, see gateway.jobs.runner).
- **Model crashes per backend.** Each backend has its own CrashGate: while a model is being healed
  on one backend (see gateway.inference.health), calls for it go to the others; only when every up
  backend is healing it does a call wait for the gate, as with one Triton.
- **Discovery.** A fixed list of addresses, or one DNS name whose A records are re-resolved every
  ``dns_refresh_s`` (see gateway.inference.addresses): new addresses join (out until probed
  ready), vanished ones leave once their calls are done. A failed resolution keeps the last set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeGuard

from gateway.core.errors import BusyError, GatewayError, ModelCrashedError, TritonUnavailableError
from gateway.core.metrics import GatewayMetrics
from gateway.core.periodic import Periodic
from gateway.inference.addresses import BackendAddresses, Resolver, resolve_a_records
from gateway.inference.triton import Parameters, Processed, TritonPipeline

logger = logging.getLogger(__name__)

PROBE_TICK_S = 0.2
CrashListener = Callable[["Backend", str, ModelCrashedError], None]


class Backend:
    """One Triton server: its gRPC client (with its own CrashGate), circuit state and counters."""

    def __init__(self, url: str, pipeline: TritonPipeline, metrics: GatewayMetrics) -> None:
        self.url = url
        self.pipeline = pipeline
        self.up = False
        self.reason = "not probed yet"  # why it is out; "" while up
        self.in_flight = 0
        self.failed_probes = 0
        self.next_probe = 0.0  # time.monotonic() of the next readiness probe while out
        self.canary_failing: set[str] = set()  # models whose last canary failed here
        self.probe_lock = asyncio.Lock()
        self._metrics = metrics
        metrics.backend_up.labels(url).set(0)
        metrics.backend_in_flight.labels(url).set(0)

    def healing(self, model: str) -> bool:
        return model in self.pipeline.crashes.healing

    async def call(self, payloads: Sequence[bytes], parameters: Parameters, priority: int, model: str) -> list[Processed]:
        """One inference on this backend (no crash-gate wait: the pool chose it knowing its gate)."""
        self.in_flight += 1
        self._metrics.backend_in_flight.labels(self.url).set(self.in_flight)
        self._metrics.backend_calls.labels(self.url).inc()
        try:
            return await self.pipeline.process(payloads, parameters, priority, model, wait_healed=False)
        except GatewayError as error:
            self._metrics.backend_failures.labels(self.url, error.code).inc()
            raise
        finally:
            self.in_flight -= 1
            self._metrics.backend_in_flight.labels(self.url).set(self.in_flight)

    def mark(self, up: bool, reason: str = "") -> None:
        self.up, self.reason = up, reason
        self._metrics.backend_up.labels(self.url).set(1 if up else 0)

    def forget_metrics(self) -> None:
        for gauge in (self._metrics.backend_up, self._metrics.backend_in_flight):
            gauge.remove(self.url)

    def state(self) -> dict[str, Any]:
        """For /readyz and logs: address, circuit state, why it is out, calls in flight."""
        return {"url": self.url, "up": self.up, "reason": self.reason or None, "in_flight": self.in_flight}


class TritonBackends:
    """The backends the gateway calls; the same face as TritonPipeline (process, is_ready, url...)."""

    def __init__(
        self, addresses: BackendAddresses, model_name: str, model_version: str, timeout_s: float, metrics: GatewayMetrics, *, probe_initial_s: float = 0.5, probe_max_s: float = 5.0, probe_timeout_s: float = 3.0,
        dns_refresh_s: float = 10.0, resolver: Resolver = resolve_a_records,
    ) -> None:
        self.addresses = addresses
        self.model_name = model_name
        self.model_version = model_version
        self.timeout_s = timeout_s
        self.probe_initial_s, self.probe_max_s, self.probe_timeout_s = probe_initial_s, probe_max_s, probe_timeout_s
        self.dns_refresh_s = dns_refresh_s
        self.backends: list[Backend] = []
        self._metrics = metrics
        self._resolver = resolver
        self._turn = 0
        self._crash_listeners: list[tuple[CrashListener, float]] = []
        self._up_listeners: list[Callable[[Backend], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()  # departing backends' retirements
        self._loops = [Periodic("triton-backend-probes", PROBE_TICK_S, self._probe_due)]
        if addresses.dynamic:
            self._loops.append(Periodic("triton-backend-dns", dns_refresh_s, self.refresh))
        self._set_backends(addresses.fixed)

    @property
    def url(self) -> str:
        """What the logs and /v1/stats call these backends."""
        if self.addresses.dynamic:
            return f"{self.addresses.dns_name}:{self.addresses.port} ({', '.join(self.urls) or 'no address yet'})"
        return ", ".join(self.urls)

    @property
    def urls(self) -> list[str]:
        return [backend.url for backend in self.backends]

    def start(self) -> None:
        """Probe the backends that are out; re-resolve the DNS name, if one is configured."""
        for loop in self._loops:
            loop.start()

    async def close(self) -> None:
        for loop in self._loops:
            await loop.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for backend in self.backends:
            await backend.pipeline.close()

    # Listeners (the health module)

    def on_crash(self, listener: CrashListener, wait_s: float) -> None:
        """``listener(backend, called_model, error)`` on each new crash on any backend; requests held
        by a backend's gate wait up to ``wait_s``."""
        self._crash_listeners.append((listener, wait_s))
        for backend in self.backends:
            self._listen_crashes(backend, listener, wait_s)

    def on_up(self, listener: Callable[[Backend], None]) -> None:
        """``listener(backend)`` whenever a backend is put back."""
        self._up_listeners.append(listener)

    # Calls

    async def process(
        self, payloads: Sequence[bytes], parameters: Parameters, priority: int, model_name: str | None = None,
        *, wait_healed: bool = True,
    ) -> list[Processed]:
        """Run ``model_name`` (else the configured model) on ``payloads`` on one backend; on another
        when that one turns out unavailable or full. Raises what TritonPipeline.process raises;
        TritonUnavailableError naming every backend when none can take it."""
        called = model_name or self.model_name
        tried: list[Backend] = []
        failure: GatewayError | None = None
        while True:
            backend = self._choose(called, tried)
            if backend is None and not tried:
                backend = await self._last_resort(called, wait_healed)
            if backend is None:
                raise failure if failure is not None else self._unavailable()
            tried.append(backend)
            try:
                return await backend.call(payloads, parameters, priority, called)
            except TritonUnavailableError as error:
                self.take_out(backend, str(error))
                failure = error
            except BusyError as error:
                failure = error
            logger.warning("%s failed on %s (%s); trying another backend", called, backend.url, failure.code)

    def _choose(self, called: str, tried: Sequence[Backend]) -> Backend | None:
        """The up backend not yet tried, not healing ``called``, with the fewest calls in flight."""
        candidates = [b for b in self.backends if b.up and b not in tried and not b.healing(called)]
        healthy = [b for b in candidates if called not in b.canary_failing] or candidates
        if not healthy:
            return None
        fewest = min(backend.in_flight for backend in healthy)
        tied = [backend for backend in healthy if backend.in_flight == fewest]
        self._turn += 1
        return tied[self._turn % len(tied)]

    async def _last_resort(self, called: str, wait_healed: bool) -> Backend | None:
        """No up backend free of a crash of ``called``: wait for one healing it, else probe all now."""
        healing = [backend for backend in self.backends if backend.up and backend.healing(called)]
        if healing:
            if wait_healed:
                await healing[0].pipeline.crashes.wait(called)  # TritonUnavailableError past its bound
            return healing[0]
        await self.check_all()
        return self._choose(called, [])

    def _unavailable(self) -> TritonUnavailableError:
        if not self.backends:
            return TritonUnavailableError(f"Triton is unavailable: {self.url} names no backend")
        states = "; ".join(f"{backend.url}: {backend.reason}" for backend in self.backends)
        return TritonUnavailableError(f"Triton is unavailable: no backend is ready ({states})")

    # Circuit

    def take_out(self, backend: Backend, reason: str) -> None:
        """Stop sending calls to ``backend`` until a probe finds it ready."""
        if backend.up:
            logger.warning("Triton backend %s taken out: %s", backend.url, reason)
            backend.failed_probes = 0
            backend.next_probe = time.monotonic() + self.probe_initial_s
        backend.mark(False, reason)

    def put_back(self, backend: Backend) -> None:
        if not backend.up:
            logger.info("Triton backend %s is ready; taking calls", backend.url)
        backend.failed_probes = 0
        backend.mark(True)
        for listener in self._up_listeners:
            listener(backend)

    async def probe(self, backend: Backend) -> bool:
        """Ask ``backend`` (out) whether it and the model are ready; put it back, or probe later.
        Callers arriving while a probe is under way share its answer (a flood of calls while every
        backend is out asks each backend once at a time, not once per call)."""
        if backend.probe_lock.locked():
            async with backend.probe_lock:
                return backend.up
        async with backend.probe_lock:
            if backend.up:
                return True
            reason = await backend.pipeline.readiness(self.probe_timeout_s)
            if reason is None:
                self.put_back(backend)
                return True
            self.take_out(backend, reason)
            backend.failed_probes += 1
            delay = min(self.probe_max_s, self.probe_initial_s * 2 ** (backend.failed_probes - 1))
            backend.next_probe = time.monotonic() + delay
            await backend.pipeline.reconnect()
            return False

    async def check(self, backend: Backend) -> None:
        """An up backend that does not answer as live is taken out; one that is out is probed."""
        if backend.up:
            reason = await backend.pipeline.liveness(self.probe_timeout_s)
            if reason is None or not backend.up:
                return
            self.take_out(backend, reason)
            await backend.pipeline.reconnect()
            return
        await self.probe(backend)

    async def check_all(self) -> None:
        """Every backend checked now, at once, each within ``probe_timeout_s``."""
        await asyncio.gather(*(self.check(backend) for backend in list(self.backends)))

    async def is_ready(self) -> bool:
        """At least one backend up after checking them all now."""
        await self.check_all()
        return any(backend.up for backend in self.backends)

    async def _probe_due(self) -> None:
        now = time.monotonic()
        due = [backend for backend in self.backends if not backend.up and backend.next_probe <= now]
        if due:
            await asyncio.gather(*(self.probe(backend) for backend in due))

    # Discovery

    async def refresh(self) -> None:
        """Resolve the DNS name again; its addresses become the backends (kept as they are on failure)."""
        name = self.addresses.dns_name
        if name is None:
            return
        try:
            urls = await self._resolver(name, self.addresses.port)
        except OSError as error:
            logger.warning("cannot resolve %s (keeping %s): %s", self.addresses.dns_name, self.urls or "no backend", error)
            return
        if not urls:
            logger.warning("%s resolved to no address; keeping %s", self.addresses.dns_name, self.urls or "no backend")
            return
        self._set_backends(urls)

    def _set_backends(self, urls: Sequence[str]) -> None:
        current = {backend.url: backend for backend in self.backends}
        for url in urls:
            if url not in current:
                self._add(url)
        for url, backend in current.items():
            if url not in urls:
                self.backends.remove(backend)
                logger.warning("Triton backend %s left (no longer in %s)", url, self.addresses.dns_name)
                self._spawn(self._retire(backend), f"retire-{url}")

    def _add(self, url: str) -> None:
        backend = Backend(url, TritonPipeline(url, self.model_name, self.model_version, self.timeout_s), self._metrics)
        for listener, wait_s in self._crash_listeners:
            self._listen_crashes(backend, listener, wait_s)
        self.backends.append(backend)
        logger.info("Triton backend %s joined; probing it", url)

    async def _retire(self, backend: Backend) -> None:
        """Close a departed backend's client once its calls are done (at most the call deadline)."""
        deadline = time.monotonic() + self.timeout_s
        while backend.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        backend.forget_metrics()
        await backend.pipeline.close()

    def _listen_crashes(self, backend: Backend, listener: CrashListener, wait_s: float) -> None:
        backend.pipeline.crashes.on_crash(lambda called, error: listener(backend, called, error), wait_s)

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Statistics

    async def model_statistics(self) -> list[dict[str, Any]]:
        """Triton's per-model statistics summed over the backends that answer (name and version kept)."""
        answers = await asyncio.gather(
            *(backend.pipeline.model_statistics() for backend in self.backends), return_exceptions=True
        )
        lists = [answer for answer in answers if isinstance(answer, list)]
        if not lists:
            failure = next((answer for answer in answers if isinstance(answer, GatewayError)), None)
            raise failure or self._unavailable()
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for stats in lists:
            for model in stats:
                key = (str(model.get("name")), str(model.get("version")))
                merged[key] = summed(merged[key], model) if key in merged else model
        return list(merged.values())


def summed(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    """Two of Triton's JSON statistics of one model added up: counts and nanoseconds summed (int64
    come as strings), ``last_inference`` the later one, anything else kept from ``first``."""
    total: dict[str, Any] = dict(first)
    for key, value in second.items():
        mine = first.get(key)
        if isinstance(mine, Mapping) and isinstance(value, Mapping):
            total[key] = summed(mine, value)
        elif key == "last_inference" and _is_count(mine) and _is_count(value):
            total[key] = max(int(mine), int(value))
        elif _is_count(mine) and _is_count(value):
            total[key] = int(mine) + int(value)
        elif key not in first:
            total[key] = value
    return total


def _is_count(value: object) -> TypeGuard[int | str]:
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())
