"""The run command: `python -m gateway` starts Triton and the gateway, prints the URL, and a
newcomer's one curl line gets the photo back anonymised; Ctrl-C stops both."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from gateway.__main__ import load_settings, parse_args
from tests.gateway.conftest import free_port
from tests.gateway.images import assert_blurred, decode
from tests.photos import photo_bytes, photo_pixels

ROOT = Path(__file__).resolve().parents[2]


def test_options_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "9000")
    monkeypatch.setenv("GATEWAY_HOST", "0.0.0.0")
    settings = load_settings(parse_args(["--port", "9100", "--triton-url", "triton:8001"]))
    assert (settings.host, settings.port, settings.triton_url, settings.start_triton) == ("0.0.0.0", 9100, "triton:8001", False)


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in process.stdout or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for_url(lines: queue.Queue[str], timeout_s: float) -> str:
    deadline, seen = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        found = re.search(r"Gateway ready: (http://\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("no 'Gateway ready' line:\n" + "".join(seen[-30:]))


@pytest.mark.server
def test_run_command_serves_a_photo_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    environment = {
        **os.environ, "GATEWAY_PORT": str(free_port()), "GATEWAY_STORAGE_URL": str(tmp_path / "storage"),
        "TRITON_HTTP_PORT": str(free_port()), "TRITON_GRPC_PORT": str(free_port()), "TRITON_METRICS_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"], cwd=ROOT, env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        url = wait_for_url(lines_of(process), timeout_s=180)
        reply = httpx.post(f"{url}/v1/process", files={"file": ("zidane.jpg", photo_bytes("zidane.jpg"))}, timeout=120)
        assert reply.status_code == 200, reply.text
        boxes = [face["box"] for face in json.loads(reply.headers["X-Metadata"])["faces"]]
        assert_blurred(photo_pixels("zidane.jpg"), decode(reply.content), boxes)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
