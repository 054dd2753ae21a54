"""A webhook receiver for tests: a real HTTP server on loopback answering scripted statuses."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """An HTTP server that answers each POST with the next scripted status (then 200) and keeps
    what it received; ``hang_s`` makes it wait before answering."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.script: dict[str, list[int]] = {}
        self.hang_s: dict[str, float] = {}
        self.retry_after: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body, "at": time.time()})
                time.sleep(receiver.hang_s.get(self.path, 0))
                statuses = receiver.script.get(self.path, [])
                status = statuses.pop(0) if statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                if self.path in receiver.retry_after:
                    self.send_header("Retry-After", receiver.retry_after[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, path: str) -> list[dict[str, Any]]:
        return [request for request in self.received if request["path"] == path]

    def wait_for(self, path: str, timeout_s: float = 20) -> None:
        """Waits until ``path`` got a first request, or ``timeout_s`` passed."""
        deadline = time.monotonic() + timeout_s
        while not self.at(path) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
