"""The job engine contract, run against both engines: the in-process one and NATS JetStream
(a real nats-server from the venv, started per test on a free loopback port)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.jobs.engine import InProcessEngine, JobEngine
from gateway.jobs.engine.jetstream import JetStreamEngine
from gateway.jobs.engine.server import NatsServer
from gateway.jobs.models import Priority

EngineFactory = Callable[..., JobEngine]
NOTHING_S = 0.6  # long enough for an engine to deliver a job it has


class Recorder:
    """What an engine told its gateway: events heard and jobs given up on."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.exhausted: list[tuple[str, int]] = []

    def event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    async def gave_up(self, job_id: str, deliveries: int) -> None:
        self.exhausted.append((job_id, deliveries))


@pytest.fixture(params=["in-process", "jetstream"])
def make_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineFactory]:
    """Engines of one kind; JetStream ones share one fresh nats-server (one per test)."""
    if request.param == "in-process":
        yield lambda **settings: InProcessEngine(settings.get("max_deliveries", 100))
        return
    with NatsServer(tmp_path / "nats") as server:
        yield lambda **settings: JetStreamEngine(server.url, **settings)


def run(make_engine: EngineFactory, scenario: Callable[..., Awaitable[Any]], **settings: Any) -> Any:
    """``scenario(engine, recorder)`` on a started engine, closed afterwards."""

    async def main() -> Any:
        engine, recorder = make_engine(**settings), Recorder()
        await engine.start(recorder.event, recorder.gave_up)
        try:
            return await scenario(engine, recorder)
        finally:
            await engine.close()

    return asyncio.run(main())


async def nothing_to_take(engine: JobEngine, wait_s: float = NOTHING_S) -> bool:
    try:
        await asyncio.wait_for(engine.take(), wait_s)
    except asyncio.TimeoutError:
        return True
    return False


def test_high_before_normal_before_low_then_first_come(make_engine: EngineFactory) -> None:
    async def scenario(engine: JobEngine, recorder: Recorder) -> list[str]:
        for job_id, priority in [("l1", Priority.low), ("n1", Priority.normal), ("h1", Priority.high),
                                 ("l2", Priority.low), ("h2", Priority.high)]:
            await engine.enqueue(job_id, priority)
        assert await engine.depth() == {"high": 2, "normal": 1, "low": 2}
        taken = []
        for _ in range(5):
            delivery = await asyncio.wait_for(engine.take(), 5)
            assert delivery.deliveries == 1
            taken.append(delivery.job_id)
            await delivery.ack()
        assert await nothing_to_take(engine)
        return taken

    assert run(make_engine, scenario) == ["h1", "h2", "n1", "l1", "l2"]


def test_a_job_queued_twice_is_delivered_once(make_engine: EngineFactory) -> None:
    async def scenario(engine: JobEngine, recorder: Recorder) -> None:
        await engine.enqueue("twice", Priority.normal)
        if isinstance(engine, InProcessEngine):
            pytest.skip("the in-process queue is filled by one process that queues each job once")
        await engine.enqueue("twice", Priority.normal)
        delivery = await asyncio.wait_for(engine.take(), 5)
        await delivery.ack()
        assert await nothing_to_take(engine)

    run(make_engine, scenario)


def test_retry_delivers_again_after_the_delay_and_ack_ends_it(make_engine: EngineFactory) -> None:
    async def scenario(engine: JobEngine, recorder: Recorder) -> None:
        await engine.enqueue("job", Priority.low)
        first = await asyncio.wait_for(engine.take(), 5)
        assert await engine.in_progress() == 1
        await first.retry(1.0)
        assert await nothing_to_take(engine, 0.5)  # not before its delay
        second = await asyncio.wait_for(engine.take(), 5)
        assert (second.job_id, second.priority, second.deliveries) == ("job", Priority.low, 2)
        await second.ack()
        assert await nothing_to_take(engine, 1.5)
        assert await engine.in_progress() == 0 and sum((await engine.depth()).values()) == 0

    run(make_engine, scenario)


def test_a_job_past_its_delivery_limit_is_given_up_and_named(make_engine: EngineFactory) -> None:
    async def scenario(engine: JobEngine, recorder: Recorder) -> None:
        await engine.enqueue("poison", Priority.high)
        for _ in range(2):
            delivery = await asyncio.wait_for(engine.take(), 5)
            await delivery.retry(0.0)
        for _ in range(20):  # JetStream says it gave up when a worker asks next, as idle workers keep doing
            assert await nothing_to_take(engine, 0.3)
            if recorder.exhausted:
                break
        assert recorder.exhausted == [("poison", 2)]
        assert await engine.depth() == {"high": 0, "normal": 0, "low": 0}

    run(make_engine, scenario, max_deliveries=2)


def test_events_reach_the_subscribers(make_engine: EngineFactory) -> None:
    async def scenario(engine: JobEngine, recorder: Recorder) -> None:
        await engine.publish({"job_id": "j1", "status": "running"})
        await engine.publish({"job_id": "j1", "status": "succeeded"})
        for _ in range(50):
            if len(recorder.events) == 2:
                break
            await asyncio.sleep(0.05)
        assert [event["status"] for event in recorder.events] == ["running", "succeeded"]

    run(make_engine, scenario)


def test_replica_figures_are_shared(make_engine: EngineFactory) -> None:
    async def scenario(engine: JobEngine, recorder: Recorder) -> None:
        await engine.publish_stats("replica-a", {"finished": {"succeeded": 3}})
        assert (await engine.replica_stats())["replica-a"] == {"finished": {"succeeded": 3}}

    run(make_engine, scenario)


# JetStream only: several replicas on one engine.

@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with NatsServer(tmp_path / "nats") as server:
        yield server.url


async def started(url: str, recorder: Recorder, **settings: Any) -> JetStreamEngine:
    engine = JetStreamEngine(url, **settings)
    await engine.start(recorder.event, recorder.gave_up)
    return engine


def test_a_delivery_of_a_replica_that_died_goes_to_another_after_the_ack_deadline(nats_url: str) -> None:
    async def scenario() -> None:
        first, second = Recorder(), Recorder()
        dying = await started(nats_url, first, ack_wait_s=1.0)
        survivor = await started(nats_url, second, ack_wait_s=1.0)
        await dying.enqueue("orphan", Priority.normal)
        taken = await asyncio.wait_for(dying.take(), 5)
        await dying.close()  # gone without ack or nak, like kill -9
        assert taken.job_id == "orphan"
        redelivered = await asyncio.wait_for(survivor.take(), 5)
        assert (redelivered.job_id, redelivered.deliveries) == ("orphan", 2)
        await redelivered.ack()
        await survivor.close()

    asyncio.run(scenario())


def test_extend_keeps_a_long_job_with_its_worker(nats_url: str) -> None:
    async def scenario() -> None:
        worker, other = await started(nats_url, Recorder(), ack_wait_s=1.0), await started(nats_url, Recorder(), ack_wait_s=1.0)
        await worker.enqueue("long", Priority.normal)
        delivery = await asyncio.wait_for(worker.take(), 5)
        for _ in range(8):  # 2.4 s, past twice the ack deadline
            await asyncio.sleep(0.3)
            await delivery.extend()
        assert await nothing_to_take(other, 0.1)
        await delivery.ack()
        assert await nothing_to_take(other, 1.5)
        await worker.close()
        await other.close()

    asyncio.run(scenario())


def test_events_and_figures_of_one_replica_reach_the_others(nats_url: str) -> None:
    async def scenario() -> None:
        heard_a, heard_b = Recorder(), Recorder()
        a, b = await started(nats_url, heard_a), await started(nats_url, heard_b)
        await a.publish({"job_id": "from-a", "status": "queued"})
        await a.publish_stats("a", {"gateway": {"total": 1}})
        for _ in range(100):
            if heard_a.events and heard_b.events:
                break
            await asyncio.sleep(0.05)
        assert heard_b.events == [{"job_id": "from-a", "status": "queued"}] == heard_a.events
        assert (await b.replica_stats())["a"] == {"gateway": {"total": 1}}
        await a.enqueue("queued-on-a", Priority.high)
        delivery = await asyncio.wait_for(b.take(), 5)
        assert delivery.job_id == "queued-on-a"
        await delivery.ack()
        await a.close()
        await b.close()

    asyncio.run(scenario())
