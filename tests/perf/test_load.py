"""The closed-loop load generator, against in-process fake services (no timing assertions)."""

from __future__ import annotations

import asyncio

from perf.load import Stream, Window, run_streams


def test_every_worker_keeps_one_request_in_flight_and_answers_are_recorded() -> None:
    in_flight, peak, seen = 0, 0, []

    async def send(payload: bytes) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        seen.append(payload)
        await asyncio.sleep(0.01)
        in_flight -= 1

    [result] = asyncio.run(run_streams([Stream("fake", send, 3)], [b"a", b"b"], Window(0.05, 0.3)))
    assert peak == 3
    assert result.latencies_s and all(latency > 0 for latency in result.latencies_s)
    assert result.errors == 0 and result.throughput > 0
    assert set(seen) == {b"a", b"b"}


def test_failures_are_counted_with_the_first_message() -> None:
    async def send(payload: bytes) -> None:
        raise RuntimeError("refused")

    [result] = asyncio.run(run_streams([Stream("broken", send, 2)], [b"x"], Window(0.0, 0.2)))
    assert result.errors > 0 and not result.latencies_s
    assert result.first_error == "RuntimeError: refused"


def test_streams_run_together_and_are_measured_apart() -> None:
    async def quick(payload: bytes) -> None:
        await asyncio.sleep(0.005)

    async def slow(payload: bytes) -> None:
        await asyncio.sleep(0.05)

    fast, lagging = asyncio.run(
        run_streams([Stream("fast", quick, 1), Stream("slow", slow, 1)], [b"p"], Window(0.0, 0.4))
    )
    assert (fast.label, lagging.label) == ("fast", "slow")
    assert len(fast.latencies_s) > len(lagging.latencies_s)


def test_a_request_that_never_answers_is_cancelled_after_the_drain_timeout() -> None:
    async def hang(payload: bytes) -> None:
        await asyncio.sleep(3600)

    [result] = asyncio.run(run_streams([Stream("hang", hang, 1)], [b"p"], Window(0.0, 0.05, drain_timeout_s=0.05)))
    assert not result.latencies_s and result.errors == 0
