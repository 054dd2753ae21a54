"""`python -m triton_launcher models ...`: list, load, unload, swap, roll back and pin model versions.

Talks to a running Triton (`--url`, default $TRITON_GRPC_URL or 127.0.0.1:8001) and writes the
generated files of the repository it serves (`--repository`, default $TRITON_MODEL_REPOSITORY or
./model_repository). Exit status 0 on success, 1 when Triton or the repository refuses (the
reason, Triton's own load error included, goes to standard error), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from triton_launcher.config import ControlSettings
from triton_launcher.control import ModelControl, ModelStatus, SwapResult
from triton_launcher.errors import ModelControlError

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m triton_launcher models", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="Triton gRPC host:port (default: $TRITON_GRPC_URL or 127.0.0.1:8001)")
    parser.add_argument("--repository", type=Path, help="model repository Triton serves (default: $TRITON_MODEL_REPOSITORY)")
    parser.add_argument("--config-name", help="Triton's --model-config-name (default: serving)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--verbose", action="store_true", help="log what is done")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="models, versions, states, served and pinned versions")
    commands.add_parser("load", help="(re)load a model from its files").add_argument("name")
    unload = commands.add_parser("unload", help="unload a model (refused for a composing model unless --force)")
    unload.add_argument("name")
    unload.add_argument("--force", action="store_true", help="unload even if loaded ensembles call it")
    swap = commands.add_parser("swap", help="serve VERSION (default: the newest on disk) with no failed request")
    swap.add_argument("version", type=int, nargs="?")
    commands.add_parser("rollback", help="serve again the version served before the last swap")
    for name, text in (("pin", "keep VERSION loaded behind its own pinned ensemble"), ("unpin", "remove a pinned VERSION")):
        commands.add_parser(name, help=text).add_argument("version", type=int)
    for command in ("swap", "rollback", "pin", "unpin"):
        commands.choices[command].add_argument("--model", help="model to act on (default: detect)")
    return parser


def run(control: ModelControl, args: argparse.Namespace) -> object:
    """Execute the parsed command; return what to print."""
    if args.command == "list":
        return control.models()
    if args.command == "load":
        return control.load(args.name)
    if args.command == "unload":
        control.unload(args.name, force=args.force)
        return f"{args.name}: unloaded"
    if args.command == "swap":
        return control.swap(args.version, args.model)
    if args.command == "rollback":
        return control.rollback(args.model)
    if args.command == "pin":
        return {"pinned": control.pin(args.version, args.model)}
    return {"unpinned": control.unpin(args.version, args.model)}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = ControlSettings.from_env(
        grpc_url=args.url, model_repository=args.repository, model_config_name=args.config_name
    )
    try:
        with ModelControl(settings) as control:
            result = run(control, args)
    except ModelControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(_jsonable(result), indent=2) if args.json else render(result))
    return 0


def render(result: object) -> str:
    """Human-readable text for a command's result."""
    if isinstance(result, list):
        return "\n".join(render(item) for item in result)
    if isinstance(result, ModelStatus):
        return _render_status(result)
    if isinstance(result, SwapResult):
        return f"{result.model}: serving version {result.current} (was {result.previous}) after {result.seconds:.1f} s"
    if isinstance(result, dict):
        return "\n".join(f"{key}: {', '.join(map(str, value))}" for key, value in result.items())
    return str(result)


def _render_status(status: ModelStatus) -> str:
    notes = [f"ready {status.ready}", f"on disk {status.on_disk}"]
    if status.fixed is not None:
        notes.append(f"fixed {status.fixed}")
    if status.history:
        notes.append("history " + " -> ".join(map(str, status.history)))
    notes += [f"pinned {version} as {', '.join(names)}" for version, names in status.pinned.items()]
    lines = [f"{status.name}: " + "; ".join(notes)]
    for state in status.versions:
        reason = state.reason.strip().splitlines()[0] if state.reason.strip() else ""
        version = f"version {state.version}" if state.version is not None else "not loaded"
        lines.append(f"  {version}  {state.state}  {reason}".rstrip())
    return "\n".join(lines)


def _jsonable(result: object) -> object:
    if isinstance(result, list):
        return [_jsonable(item) for item in result]
    if isinstance(result, (ModelStatus, SwapResult)):
        return {**asdict(result), **({"ready": result.ready} if isinstance(result, ModelStatus) else {})}
    return result
