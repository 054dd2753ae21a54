"""Dynamic batching and request priority through the five-step ensemble."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import tritonclient.grpc as grpcclient

from tests.photos import photo_bytes
from tests.priority import BACKLOG, MIN_OVERTAKEN, overtaken
from tests.server.client import image_input, outputs

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


def submit_all(
    client: grpcclient.InferenceServerClient, priorities: list[int], payload: bytes, pause_before: int = -1
) -> dict[int, float]:
    """Send one request per priority; return request index -> completion time.

    With pause_before=i, wait half a second before request i so the earlier ones form a backlog.
    """
    finished: dict[int, float] = {}
    errors: list[Exception] = []
    done = threading.Semaphore(0)

    def callback(index: int):
        def record(result: object, error: Exception | None) -> None:
            finished[index] = time.monotonic()
            if error is not None:
                errors.append(error)
            done.release()

        return record

    for index, priority in enumerate(priorities):
        if index == pause_before:
            time.sleep(0.5)
        client.async_infer("pipeline", [image_input([payload])], callback(index), outputs=outputs(), priority=priority)
    for _ in priorities:
        assert done.acquire(timeout=300), "a request never completed"
    assert not errors, errors
    return finished


def model_counts(client: grpcclient.InferenceServerClient, model: str) -> tuple[int, int]:
    stats = client.get_inference_statistics(model, as_json=True)["model_stats"][0]
    return int(stats.get("inference_count", 0)), int(stats.get("execution_count", 0))


def test_dynamic_batching_groups_requests(client: grpcclient.InferenceServerClient) -> None:
    before = {model: model_counts(client, model) for model in ("decode", "detect", "faces")}
    submit_all(client, [2] * 16, photo_bytes("astronaut.png"))
    for model, (inferences_before, executions_before) in before.items():
        inferences, executions = model_counts(client, model)
        assert inferences - inferences_before == 16
        assert executions - executions_before < 16, f"{model} ran every request alone"


def test_high_priority_overtakes_a_backlog(client: grpcclient.InferenceServerClient) -> None:
    priorities = [3] * BACKLOG + [1] * 3
    finished = submit_all(client, priorities, photo_bytes("astronaut.png"), pause_before=BACKLOG)
    lows = [at for index, at in finished.items() if priorities[index] == 3]
    highs = [at for index, at in finished.items() if priorities[index] == 1]
    count = overtaken(lows, highs)
    assert count >= MIN_OVERTAKEN, f"the priority-1 requests overtook {count} of {BACKLOG} queued priority-3 ones"
