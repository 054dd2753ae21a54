"""Dead-stub errors as Triton words them, the gate that holds requests while a model is reloaded,
and the canary image; the real crash and recovery run in test_stub_crash.py."""

from __future__ import annotations

import asyncio
import io
import time

import pytest
from PIL import Image
from tritonclient.utils import InferenceServerException

from gateway.core.errors import InferenceError, ModelCrashedError, TritonUnavailableError
from gateway.inference.health import canary_png
from gateway.inference.recovery import CrashGate, crashed
from gateway.inference.triton import translate

DEAD = "in ensemble 'pipeline', Stub process 'decode_0_0' is not healthy."  # Triton 2.51, measured


def test_dead_stub_message_names_model_and_instance() -> None:
    error = translate(InferenceServerException(DEAD, "StatusCode.INTERNAL"))
    assert isinstance(error, ModelCrashedError) and isinstance(error, InferenceError)
    assert (error.code, error.model, error.instance) == ("model_crashed", "decode", "decode_0_0")
    assert "decode_0_0" in str(error) and "reloaded" in str(error)


@pytest.mark.parametrize(("message", "model"), [
    ("Stub process 'process_0_3' is not healthy.", "process"),
    ("Failed for 'x': Stub process 'detect.v2_1_0' is not healthy.", "detect.v2"),
    ("Stub process 'my_model_12_0' is not healthy.", "my_model"),
])
def test_instance_names_strip_group_and_index(message: str, model: str) -> None:
    error = crashed(message)
    assert error is not None and error.model == model


def test_other_internal_errors_are_not_crashes() -> None:
    assert crashed("Request for unknown model: 'pipelin' is not found") is None
    assert type(translate(InferenceServerException("stub is healthy", "StatusCode.INTERNAL"))) is InferenceError


def crash(model: str = "decode") -> ModelCrashedError:
    error = crashed(f"Stub process '{model}_0_0' is not healthy.")
    assert error is not None
    return error


def test_without_a_healer_nothing_waits() -> None:
    gate = CrashGate()
    gate.crashed("pipeline", crash())
    assert gate.healing == []
    asyncio.run(asyncio.wait_for(gate.wait("pipeline"), 1))


def test_requests_wait_until_healed_and_the_healer_hears_once() -> None:
    heard: list[tuple[str, str]] = []
    gate = CrashGate()
    gate.on_crash(lambda called, error: heard.append((called, error.model)), wait_s=5)

    async def scenario() -> list[str]:
        gate.crashed("pipeline", crash())
        gate.crashed("pipeline", crash())  # a second victim of the same crash
        order: list[str] = []

        async def request() -> None:
            await gate.wait("pipeline")
            order.append("request went on")

        waiting = asyncio.create_task(request())
        await asyncio.wait_for(gate.wait("transcode"), 1)  # other models are not held
        await asyncio.sleep(0.1)
        order.append("healed")
        gate.healed("pipeline")
        await waiting
        return order

    assert asyncio.run(scenario()) == ["healed", "request went on"]
    assert heard == [("pipeline", "decode")] and gate.healing == []


def test_a_request_waits_at_most_wait_s_then_is_503() -> None:
    gate = CrashGate()
    gate.on_crash(lambda called, error: None, wait_s=0.1)

    async def scenario() -> None:
        gate.crashed("pipeline", crash())
        await gate.wait("pipeline")

    with pytest.raises(TritonUnavailableError, match="still being reloaded"):
        asyncio.run(scenario())


def test_canary_is_a_valid_small_png() -> None:
    image = Image.open(io.BytesIO(canary_png()))
    image.load()
    assert (image.format, image.size, image.mode) == ("PNG", (64, 48), "L")


def test_an_old_canary_result_is_not_ready() -> None:
    from gateway.core.metrics import GatewayMetrics
    from gateway.inference.addresses import parse_addresses
    from gateway.inference.backends import TritonBackends
    from gateway.inference.health import CanaryResult, TritonHealth
    from tests.gateway.conftest import dead_triton_url

    async def scenario() -> dict[str, str]:
        url = dead_triton_url()
        backends = TritonBackends(parse_addresses([url]), "pipeline", "", 1.0, GatewayMetrics())
        health = TritonHealth(backends, ["pipeline", "transcode"], None, interval_s=1, timeout_s=1, recovery_wait_s=1)
        now = time.monotonic()
        health.results = {url: {"pipeline": CanaryResult("ok", now - 60), "transcode": CanaryResult("ok", now)}}
        await backends.close()
        return health.checks()

    checks = asyncio.run(scenario())
    assert checks["transcode"] == "ok" and checks["pipeline"].startswith("no canary result for 6")
