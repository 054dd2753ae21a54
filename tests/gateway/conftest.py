"""Real parts for the gateway tests: uvicorn on a free port, moto's S3 server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.core.config import Settings
from gateway.main import create_app

S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dead_triton_url() -> str:
    """A loopback address nothing listens on."""
    return f"127.0.0.1:{free_port()}"


class RunningGateway:
    """The gateway app served by uvicorn in a thread, like in production, on a free port."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning",
            timeout_graceful_shutdown=2, lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"gateway-{self.port}", daemon=True)

    def start(self) -> RunningGateway:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.05)
        return self

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 120), **kwargs)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


GatewayFactory = Callable[..., RunningGateway]


def make_settings(storage: Path | str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"storage_url": str(storage), "triton_url": dead_triton_url(), "retry_initial_s": 0.2,
                              "retry_max_s": 1.0, "log_level": "WARNING"}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def gateway_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFactory]:
    """Start gateways (stopped at the end of the module); storage defaults to a fresh folder."""
    started: list[RunningGateway] = []

    def start(storage: Path | str | None = None, **overrides: Any) -> RunningGateway:
        folder = storage if storage is not None else tmp_path_factory.mktemp("storage")
        gateway = RunningGateway(make_settings(folder, **overrides)).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a loopback port, with throwaway credentials in the environment."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in S3_CREDENTIALS.items():
            patch.setenv(name, value)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def make_bucket(endpoint: str, name: str) -> None:
    from gateway.storage.s3 import make_s3_client

    client = make_s3_client(endpoint, "us-east-1")
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
