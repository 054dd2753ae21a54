"""A closed-loop load generator: N workers, each sends the next request as soon as its last one ends.

One design for every system over HTTP or gRPC (the baseline, the gateway, Triton direct), so
their figures compare: the same asyncio client, the same payloads in the same order, latency
timed around the whole call including reading the answer. Requests that end inside the
measurement window count; the warm-up before it and the drain after it do not.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

Send = Callable[[bytes], Awaitable[None]]  # sends one payload, raises on any failure


@dataclass(frozen=True)
class Stream:
    """``concurrency`` workers sending through ``send``; ``label`` names them in the result."""

    label: str
    send: Send
    concurrency: int


@dataclass
class StreamResult:
    label: str
    concurrency: int
    window_s: float
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.window_s if self.window_s > 0 else 0.0


@dataclass(frozen=True)
class Window:
    """Warm-up, then the measured window; workers stop starting requests at its end."""

    warmup_s: float
    measure_s: float
    drain_timeout_s: float = 60.0


async def run_streams(streams: Sequence[Stream], payloads: Sequence[bytes], window: Window) -> list[StreamResult]:
    """Run every stream at once over ``payloads`` (cycled, shared order) and measure them together."""
    start = time.perf_counter()
    opens, closes = start + window.warmup_s, start + window.warmup_s + window.measure_s
    order = itertools.cycle(range(len(payloads)))
    results = [StreamResult(stream.label, stream.concurrency, window.measure_s) for stream in streams]

    async def worker(stream: Stream, result: StreamResult) -> None:
        while time.perf_counter() < closes:
            payload = payloads[next(order)]
            sent = time.perf_counter()
            try:
                await stream.send(payload)
            except Exception as error:  # noqa: BLE001 - any failure of the system under test is counted
                _record_error(result, error)
                await asyncio.sleep(0.05)  # a failing service must not turn the loop into a spin
                continue
            ended = time.perf_counter()
            if opens <= ended <= closes:
                result.latencies_s.append(ended - sent)

    tasks = [
        asyncio.create_task(worker(stream, result))
        for stream, result in zip(streams, results, strict=True)
        for _ in range(stream.concurrency)
    ]
    await _drain(tasks, closes - time.perf_counter() + window.drain_timeout_s)
    return results


def _record_error(result: StreamResult, error: Exception) -> None:
    result.errors += 1
    if not result.first_error:
        result.first_error = f"{type(error).__name__}: {error}"[:300]
        logger.warning("%s: request failed: %s", result.label, result.first_error)


async def _drain(tasks: list[asyncio.Task[None]], timeout_s: float) -> None:
    """Wait for the workers; cancel the ones still waiting on an answer past the timeout."""
    done, pending = await asyncio.wait(tasks, timeout=max(timeout_s, 0.1))
    for task in pending:
        task.cancel()
    if pending:
        logger.warning("cancelled %d requests still in flight after the drain timeout", len(pending))
        await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()
