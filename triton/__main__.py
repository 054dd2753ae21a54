"""`python -m triton_launcher`: serve model_repository/ in the foreground until Ctrl-C.

`python -m triton_launcher models ...` manages the versions a running server serves (see
triton_launcher.models_cli).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from triton_launcher.config import ServerConfig
from triton_launcher.errors import LauncherError
from triton_launcher.server import TritonServer

STANDARD_PORTS = {"http_port": 8000, "grpc_port": 8001, "metrics_port": 8002}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m triton_launcher", description=__doc__)
    parser.add_argument("--model-repository", type=Path)
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--grpc-port", type=int)
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--model-control", choices=["explicit", "none", "poll"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["models"]:
        from triton_launcher.models_cli import main as models_main

        return models_main(arguments[1:])
    return serve(arguments)


def serve(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    config = ServerConfig.from_env(**{key: value for key, value in vars(args).items() if value is not None})
    ports: dict[str, Any] = {key: getattr(config, key) or port for key, port in STANDARD_PORTS.items()}
    config = replace(config, **ports)
    server = TritonServer(config, log_path=None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `docker stop`, `kill`: stop Triton too
    try:
        server.start()
        print(f"Triton ready: HTTP http://{server.http_url}  gRPC {server.grpc_url}  metrics {server.metrics_url}")
        print(f"Server log: {server.log_path}  (Ctrl-C stops)")
        return server.wait()
    except KeyboardInterrupt:
        return 0
    except LauncherError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
