"""``anonymise PATH... -o OUT``: the command line, progress display and exit codes.

Exit codes: 0 every file succeeded (this run or an earlier one); 1 some failed, or the run
stopped because the gateway stopped answering; 2 a usage error (bad option, missing path, outputs
that would clash, unknown ``--blur-classes``, API key refused); 130 interrupted (Ctrl-C or SIGTERM;
rerun the same command to finish).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from anonymise.errors import GatewayUnreachable, UsageError
from anonymise.outputs import FORMATS, plan_names, remove_partials

try:  # httpx and rich come with the project's `client` extra
    from anonymise.client import GatewayClient, Submission
    from anonymise.progress import Display
    from anonymise.run import Runner, RunSettings
except ImportError as missing:
    print(f"anonymise: {missing.name} is missing: pip install 'triton-image-service[client]'", file=sys.stderr)
    raise SystemExit(2) from None
from anonymise.s3 import s3_lister
from anonymise.sources import Source, discover
from anonymise.state import Journal, options_fingerprint
from anonymise.summary import Summary

DEFAULT_URL = "http://127.0.0.1:8080"
BLUR_KINDS = ("gaussian", "pixelate", "median", "box")


def _number(kind: Callable[[str], Any], low: float, high: float, low_open: bool = False) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < low or value > high or (low_open and value == low):
            interval = f"{'(' if low_open else '['}{low}, {high}]"
            raise argparse.ArgumentTypeError(f"{text} is outside {interval}")
        return value

    return parse


def _gateway_url(text: str) -> str:
    """An http(s) URL with a host: ``127.0.0.1:8080`` alone would only fail once the run began."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL with a host")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anonymise",
        description="Anonymise photos through the gateway: files, folders (their tree mirrored into OUT) or an "
                    "s3://bucket/prefix the gateway reads. Rerun the same command to resume an interrupted run.",
        epilog="Exit codes: 0 all succeeded, 1 some failed, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="photo, folder, or s3://bucket/prefix")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="folder the results are written into")
    parser.add_argument("--url", type=_gateway_url, default=os.environ.get("ANONYMISE_URL", DEFAULT_URL),
                        help=f"gateway URL (env ANONYMISE_URL; default {DEFAULT_URL})")
    parser.add_argument("--api-key", default=os.environ.get("ANONYMISE_API_KEY") or None,
                        help="sent as X-API-Key when the gateway has GATEWAY_API_KEYS (env ANONYMISE_API_KEY)")
    parser.add_argument("--concurrency", type=_number(int, 1, 256), default=4, help="jobs in flight at once (default 4)")
    model = parser.add_argument_group("options of each job (the gateway's; see its README)")
    model.add_argument("--format", choices=sorted(FORMATS), help="output format (default: the input's family)")
    model.add_argument("--quality", type=_number(int, 1, 100), help="1-100 (JPEG, WebP, lossy JPEG 2000)")
    model.add_argument("--lossless", action="store_true", help="lossless WebP / JPEG 2000")
    model.add_argument("--blur", choices=BLUR_KINDS, help="blur kind (default gaussian)")
    model.add_argument("--blur-strength", type=_number(float, 0, 1000, low_open=True), help="> 0 (default 1)")
    model.add_argument("--blur-classes", help="comma-separated classes blurred besides faces and plates (e.g. person)")
    model.add_argument("--face-threshold", type=_number(float, 0, 1, low_open=True), help="score in (0, 1]")
    model.add_argument("--plate-threshold", type=_number(float, 0, 1, low_open=True), help="score in (0, 1]")
    model.add_argument("--no-blur-uncertain", action="store_true", help="leave uncertain faces and plates unblurred")
    model.add_argument("--verify", action="store_true", help="detect again on the result and blur what is found")
    model.add_argument("--thorough", action="store_true", help="rotated detection passes too (4x the cost)")
    model.add_argument("--priority", choices=("high", "normal", "low"), help="job priority (default normal)")
    parser.add_argument("--metadata", action="store_true", help="save each result's metadata beside it as <name>.json")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (it shows only on a terminal)")
    parser.add_argument("--timeout", type=_number(float, 1, 3600), default=120.0, help="seconds per HTTP request (default 120)")
    parser.add_argument("--s3-endpoint-url", default=os.environ.get("ANONYMISE_S3_ENDPOINT_URL") or None,
                        help="S3-compatible endpoint for listing s3:// sources (env ANONYMISE_S3_ENDPOINT_URL; "
                             "credentials from the usual AWS_* variables)")
    return parser


def submission_of(args: argparse.Namespace) -> Submission:
    """The job options the arguments ask for; unset ones are left to the gateway's defaults."""
    options: dict[str, Any] = {
        "quality": args.quality, "blur_kind": args.blur, "blur_strength": args.blur_strength,
        "blur_classes": args.blur_classes, "face_threshold": args.face_threshold, "plate_threshold": args.plate_threshold,
        "lossless": args.lossless or None, "verify": args.verify or None, "thorough": args.thorough or None,
        "blur_uncertain": False if args.no_blur_uncertain else None,
    }
    return Submission(args.priority, args.format, {name: value for name, value in options.items() if value is not None})


async def check_classes(client: GatewayClient, requested: str) -> None:
    """UsageError naming the ``--blur-classes`` no served detector has (every file would fail with them)."""
    known = await client.classes()
    unknown = sorted({name.strip() for name in requested.split(",") if name.strip()} - set(known))
    if unknown:
        raise UsageError(f"--blur-classes {', '.join(unknown)}: the gateway's detectors find {', '.join(known)}")


def refuse_overwriting_sources(sources: list[Source], names: dict[PurePosixPath, PurePosixPath], output: Path) -> None:
    """UsageError when a result would replace its own source (OUT is the input folder)."""
    for source in sources:
        if source.path is not None and (output.resolve() / names[source.relative]) == source.path:
            raise UsageError(f"{source.path} would be overwritten by its result: choose another output folder")


async def run(args: argparse.Namespace) -> Summary:
    """The whole run; the summary says how it ended (UsageError before any file is sent)."""
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output}: the output must be a folder")
    needs_s3 = any(path.startswith("s3://") for path in args.paths)
    discovery = discover(args.paths, output, s3_lister(args.s3_endpoint_url) if needs_s3 else None)
    names = plan_names([source.relative for source in discovery.sources], args.format)
    refuse_overwriting_sources(discovery.sources, names, output)
    output.mkdir(parents=True, exist_ok=True)
    remove_partials(output)
    submission = submission_of(args)
    journal = Journal(output, options_fingerprint(submission.fingerprinted()))
    settings = RunSettings(output, submission, names, args.concurrency, args.metadata)
    started, interrupted, stopped = time.monotonic(), False, None
    async with GatewayClient(args.url, args.api_key, args.timeout) as client:
        if args.blur_classes:
            await check_classes(client, args.blur_classes)
        with Display(len(discovery.sources), enabled=not args.no_progress) as display:
            runner = Runner(client, journal, settings, on_outcome=display.update)
            task = asyncio.create_task(runner.run(runner.resume(discovery.sources)))

            def interrupt() -> None:
                nonlocal interrupted
                interrupted = True
                task.cancel()

            loop = asyncio.get_running_loop()
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signal_number, interrupt)
            try:
                await task
            except asyncio.CancelledError:
                if not interrupted:
                    raise
            except GatewayUnreachable as error:
                stopped = str(error)
            finally:
                for signal_number in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signal_number)
    return Summary.of(discovery.sources, runner.outcomes, len(discovery.ignored), time.monotonic() - started,
                      interrupted, stopped)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``anonymise`` command; answers its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="anonymise: %(message)s")
    try:
        summary = asyncio.run(run(args))
    except UsageError as error:
        print(f"anonymise: error: {error}", file=sys.stderr)
        return 2
    except GatewayUnreachable as error:
        print(f"anonymise: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # before the run installed its handler (listing a bucket): nothing was sent
        print("anonymise: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        print(summary.text())
    return summary.exit_code
