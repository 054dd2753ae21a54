"""Steady load for swap tests: a few threads calling a model in a loop, recording every outcome."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from types import TracebackType

import numpy as np
import tritonclient.grpc as grpcclient

from contracts.tensors import IMAGE, METADATA
from tests.photos import photo_bytes


@dataclass(frozen=True)
class Outcome:
    started: float
    finished: float
    version: str | None
    """versions.detect from the response metadata; None when the request failed."""
    error: str = ""


class SteadyLoad:
    """`clients` threads, each with its own gRPC connection, sending one photo per request until stopped."""

    def __init__(self, url: str, model: str = "pipeline", clients: int = 3, photo: str = "astronaut.png") -> None:
        self.url, self.model = url, model
        self.outcomes: list[Outcome] = []
        self._payload = np.array([[photo_bytes(photo)]], dtype=np.object_)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(clients)]

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        self.wait_for_successes(len(self._threads))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def wait_for_successes(self, count: int, timeout_s: float = 60.0, after: float = 0.0) -> None:
        """Block until `count` requests that started after `after` succeeded."""
        deadline = time.monotonic() + timeout_s
        while sum(1 for outcome in list(self.outcomes) if outcome.version and outcome.started > after) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} successful requests in {timeout_s} s: {self.failures()[:3]}")
            time.sleep(0.05)

    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.version is None]

    def versions(self, started_after: float = 0.0, finished_before: float = float("inf")) -> set[str]:
        return {
            outcome.version
            for outcome in self.outcomes
            if outcome.version and outcome.started > started_after and outcome.finished < finished_before
        }

    def first_seen(self, version: str) -> float:
        return min(outcome.finished for outcome in self.outcomes if outcome.version == version)

    def _loop(self) -> None:
        with grpcclient.InferenceServerClient(self.url) as client:
            while not self._stop.is_set():
                self.outcomes.append(self._request(client))

    def _request(self, client: grpcclient.InferenceServerClient) -> Outcome:
        image = grpcclient.InferInput(IMAGE, list(self._payload.shape), "BYTES")
        image.set_data_from_numpy(self._payload)
        started = time.monotonic()
        try:
            reply = client.infer(self.model, [image], outputs=[grpcclient.InferRequestedOutput(METADATA)])
        except Exception as error:  # noqa: BLE001 - every failure counts, whatever its type
            return Outcome(started, time.monotonic(), None, str(error))
        metadata = json.loads(reply.as_numpy(METADATA).reshape(-1)[0])
        return Outcome(started, time.monotonic(), str(metadata["versions"]["detect"]))
