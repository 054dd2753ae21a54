"""/readyz never hangs and says what fails: storage that accepts connections but never answers
(a black hole in front of moto's S3) makes it 503 within its bound, and a Triton that is not
there fails the Triton check and the canary of every model."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.gateway.conftest import GatewayFactory, make_bucket

BOUND_S = 1.0


class BlackHoleProxy:
    """A TCP proxy to ``upstream`` that, once ``swallow`` is set, stops passing bytes either way."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.swallow = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.swallow.is_set():  # hold the bytes: the peer waits forever
                    time.sleep(0.1)
                target.sendall(data)
        except OSError:
            pass


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[BlackHoleProxy]:
    host, port = s3_endpoint.removeprefix("http://").split(":")
    make_bucket(s3_endpoint, "ready")
    proxy = BlackHoleProxy((host, int(port)))
    yield proxy
    proxy.close()


def test_a_hanging_store_makes_readyz_503_within_its_bound(gateway_factory: GatewayFactory, proxy: BlackHoleProxy) -> None:
    gateway = gateway_factory(
        "s3://ready/prefix", s3_endpoint_url=f"http://127.0.0.1:{proxy.port}", readiness_timeout_s=BOUND_S,
    )
    with gateway.client(timeout=30) as client:
        before = client.get("/readyz").json()
        proxy.swallow.set()
        timings, replies = [], []
        for _ in range(3):  # no pile-up: each probe is bounded on its own
            started = time.monotonic()
            replies.append(client.get("/readyz"))
            timings.append(time.monotonic() - started)
    assert before["checks"]["storage"] == "ok"
    assert all(reply.status_code == 503 for reply in replies)
    assert all(f"within {BOUND_S:g} s" in reply.json()["checks"]["storage"] for reply in replies), replies[0].text
    assert max(timings) < 2 * BOUND_S + 1, timings


def test_without_triton_every_check_names_what_fails(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(canary_interval_s=1)
    with gateway.client() as client:
        deadline = time.monotonic() + 10
        while (body := client.get("/readyz").json())["models"]["pipeline"] == "canary not run yet":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert body["error"] == "not_ready" and body["checks"]["storage"] == "ok"
    assert set(body["models"]) == {"pipeline", "transcode", "process"}
    assert all("triton_unavailable" in detail for detail in body["models"].values()), body
    assert "canary" in body["detail"] and "triton" in body["detail"]
