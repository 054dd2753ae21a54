"""Many Tritons behind one gateway, without a Triton: addresses and DNS discovery, the choice of
backend, refusal naming every backend when none is up, statistics summed, /readyz per backend.
The failover under load against two real tritonservers is in test_backends_failover.py."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.core.errors import TritonUnavailableError
from gateway.core.metrics import GatewayMetrics
from gateway.inference.addresses import BackendAddresses, Resolver, parse_addresses, resolve_a_records
from gateway.inference.backends import TritonBackends, summed
from gateway.inference.recovery import crashed
from tests.gateway.conftest import GatewayFactory, dead_triton_url
from tests.photos import photo_bytes
from triton_launcher import TritonServer


def backends_of(addresses: BackendAddresses, resolver: Resolver = resolve_a_records) -> TritonBackends:
    return TritonBackends(addresses, "pipeline", "", 5.0, GatewayMetrics(), resolver=resolver)


def test_addresses_fixed_list_or_one_dns_name() -> None:
    assert parse_addresses(["10.0.0.1:8001", " 10.0.0.2:8001", "10.0.0.1:8001"]).fixed == ("10.0.0.1:8001", "10.0.0.2:8001")
    assert parse_addresses(["127.0.0.1:8001"]) == BackendAddresses(fixed=("127.0.0.1:8001",))
    assert parse_addresses(["[::1]:8001"]).fixed == ("[::1]:8001",)
    dns = parse_addresses(["triton-headless.photos.svc.cluster.local:8001"])
    assert dns.dynamic and (dns.dns_name, dns.port) == ("triton-headless.photos.svc.cluster.local", 8001)
    assert parse_addresses(["a.example:8001", "b.example:8001"]).fixed == ("a.example:8001", "b.example:8001")
    for bad in (["triton"], ["triton:http"], ["triton:70000"], [""]):
        with pytest.raises(ValueError, match="GATEWAY_TRITON_URL"):
            parse_addresses(bad)


def test_a_records_of_a_real_name() -> None:
    assert asyncio.run(resolve_a_records("localhost", 8001)) == ["127.0.0.1:8001"]


def test_dns_name_is_resolved_again_and_the_backends_follow() -> None:
    answers: list[list[str] | OSError] = [
        ["10.1.0.1:8001", "10.1.0.2:8001"], OSError("SERVFAIL"), [], ["10.1.0.2:8001", "10.1.0.3:8001"],
    ]

    async def resolver(name: str, port: int) -> list[str]:
        assert (name, port) == ("triton-headless", 8001)
        answer = answers.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer

    async def scenario() -> list[list[str]]:
        backends = backends_of(parse_addresses(["triton-headless:8001"]), resolver=resolver)
        seen = [backends.urls]
        for _ in range(4):
            await backends.refresh()
            seen.append(backends.urls)
        assert not any(backend.up for backend in backends.backends), "a new backend takes no call before a probe"
        await asyncio.sleep(0.05)  # the departed backend's client is closed
        await backends.close()
        return seen

    seen = asyncio.run(scenario())
    first = ["10.1.0.1:8001", "10.1.0.2:8001"]
    assert seen == [[], first, first, first, ["10.1.0.2:8001", "10.1.0.3:8001"]]


def test_calls_go_to_the_up_backend_with_fewest_in_flight_in_turn() -> None:
    async def scenario() -> None:
        backends = backends_of(parse_addresses(["10.0.0.1:8001", "10.0.0.2:8001", "10.0.0.3:8001"]))
        a, b, c = backends.backends
        for backend in (a, b, c):
            backends.put_back(backend)
        a.in_flight, b.in_flight, c.in_flight = 2, 1, 1
        chosen = {backends._choose("pipeline", []) for _ in range(4)}
        assert chosen == {b, c}  # ties in turn, never the busier one
        c.canary_failing.add("pipeline")
        assert backends._choose("pipeline", []) is b  # a failing canary: only when nothing else is up
        assert backends._choose("transcode", []) in (b, c)
        b.pipeline.crashes.on_crash(lambda called, error: None, 1.0)
        error = crashed("Stub process 'decode_0_0' is not healthy")
        assert error is not None
        b.pipeline.crashes.crashed("pipeline", error)
        assert backends._choose("pipeline", []) is a  # b heals pipeline; c's canary fails: a, busy as it is
        backends.take_out(a, "test")
        assert backends._choose("pipeline", []) is c
        assert backends._choose("pipeline", [c]) is None
        await backends.close()

    asyncio.run(scenario())


def test_no_backend_up_is_triton_unavailable_naming_each() -> None:
    first, second = dead_triton_url(), dead_triton_url()

    async def scenario() -> tuple[TritonUnavailableError, float, GatewayMetrics]:
        metrics = GatewayMetrics()
        backends = TritonBackends(parse_addresses([first, second]), "pipeline", "", 5.0, metrics)
        started = time.monotonic()
        try:
            with pytest.raises(TritonUnavailableError) as caught:
                await backends.process([b"x"], {}, 2)
            return caught.value, time.monotonic() - started, metrics
        finally:
            await backends.close()

    error, elapsed, metrics = asyncio.run(scenario())
    assert first in str(error) and second in str(error) and "no backend is ready" in str(error)
    assert elapsed < 3
    assert metrics.registry.get_sample_value("gateway_triton_backend_up", {"backend": first}) == 0


def test_statistics_of_backends_are_summed_per_model_and_version() -> None:
    one = {"name": "pipeline", "version": "1", "inference_count": "3", "last_inference": "100",
           "inference_stats": {"success": {"count": "3", "ns": "300"}, "fail": {"count": "0", "ns": "0"}}}
    two = {"name": "pipeline", "version": "1", "inference_count": "2", "last_inference": "250",
           "inference_stats": {"success": {"count": "2", "ns": "100"}, "queue": {"count": "2", "ns": "10"}}}
    total = summed(one, two)
    assert total["inference_count"] == 5 and total["last_inference"] == 250
    assert total["inference_stats"]["success"] == {"count": 5, "ns": 400}
    assert total["inference_stats"]["queue"] == {"count": "2", "ns": "10"} and total["name"] == "pipeline"


def test_readyz_reports_each_backend_and_metrics_label_them(gateway_factory: GatewayFactory) -> None:
    first, second = dead_triton_url(), dead_triton_url()
    gateway = gateway_factory(triton_urls=[first, second], canary_interval_s=1)
    with gateway.client() as client:
        ready = client.get("/readyz")
        metrics = client.get("/metrics").text
    body = ready.json()
    assert ready.status_code == 503 and body["backends_ready"] == "0/2", body
    assert [backend["url"] for backend in body["backends"]] == [first, second]
    assert all(not backend["up"] and not backend["ready"] and backend["reason"] for backend in body["backends"])
    assert first in body["checks"]["triton"] and second in body["checks"]["triton"]
    assert f'gateway_triton_backend_up{{backend="{first}"}} 0.0' in metrics


@pytest.mark.server
def test_one_dns_name_is_resolved_to_the_backends(gateway_factory: GatewayFactory, triton_server: TritonServer) -> None:
    """``localhost:<port>`` in GATEWAY_TRITON_URLS: a DNS name, resolved to its A record, which serves."""
    port = triton_server.grpc_url.rsplit(":", 1)[1]
    gateway = gateway_factory(triton_urls=[f"localhost:{port}"], canary_interval_s=1)
    with gateway.client() as client:
        reply = client.post("/v1/process", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))})
        deadline = time.monotonic() + 60
        while (ready := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert reply.status_code == 200, reply.text
    assert ready.status_code == 200, ready.text
    assert [backend["url"] for backend in ready.json()["backends"]] == [f"127.0.0.1:{port}"]


def test_calls_while_every_backend_is_out_share_one_probe() -> None:
    """A flood while the only backend is out: one readiness question at a time, not one per call."""
    asked = 0

    async def scenario() -> list[BaseException | list[object]]:
        backends = TritonBackends(parse_addresses([dead_triton_url()]), "pipeline", "", 5.0, GatewayMetrics())
        [backend] = backends.backends
        original = backend.pipeline.readiness

        async def counted(timeout_s: float) -> str | None:
            nonlocal asked
            asked += 1
            await asyncio.sleep(0.2)  # a slow answer: the other calls arrive meanwhile
            return await original(timeout_s)

        backend.pipeline.readiness = counted  # type: ignore[method-assign]  # count the questions the real client asks
        try:
            return await asyncio.gather(*(backends.process([b"x"], {}, 2) for _ in range(20)), return_exceptions=True)
        finally:
            await backends.close()

    outcomes = asyncio.run(scenario())
    assert all(isinstance(outcome, TritonUnavailableError) for outcome in outcomes), outcomes
    assert asked == 1
