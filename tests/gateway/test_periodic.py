"""gateway.core.periodic: a step every period, surviving the errors it is told to."""

from __future__ import annotations

import asyncio

import pytest

from gateway.core.periodic import Periodic


def test_a_surviving_error_is_logged_and_the_next_step_runs(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OSError("storage away")

    async def scenario() -> None:
        periodic = Periodic("sweep", 0.01, step, survives=(OSError,))
        periodic.start()
        while len(calls) < 3:
            await asyncio.sleep(0.01)
        await periodic.stop()
        stopped_at = len(calls)
        await asyncio.sleep(0.05)
        assert len(calls) == stopped_at  # stop cancels: no step after it

    asyncio.run(scenario())
    assert "sweep: storage away" in caplog.text


def test_another_error_ends_the_task_and_first_delay_waits_a_period() -> None:
    calls: list[float] = []

    async def step() -> None:
        calls.append(asyncio.get_running_loop().time())
        raise ValueError("a bug")

    async def scenario() -> None:
        periodic = Periodic("figures", 0.05, step, survives=(OSError,), first_delay=True)
        started = asyncio.get_running_loop().time()
        periodic.start()
        await asyncio.sleep(0.3)
        assert len(calls) == 1 and calls[0] - started >= 0.045
        await periodic.stop()

    asyncio.run(scenario())
