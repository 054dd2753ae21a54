"""`python -m perf.baseline --port P`: serve the in-process baseline until stopped."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from perf.baseline.app import create_app
from triton_launcher.config import DEFAULT_REPOSITORY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.baseline", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--model-repository", type=Path, default=DEFAULT_REPOSITORY)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.model_repository), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
