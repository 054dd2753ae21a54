"""`python -m gateway`: Triton (unless one is already running) and the gateway, until Ctrl-C or SIGTERM.

Jobs wait in the in-process engine unless GATEWAY_NATS_URL names a NATS JetStream shared by several
replicas; with GATEWAY_START_NATS=true (or --start-nats) this command starts one itself.

Settings: defaults < environment (GATEWAY_*, and TRITON_* for the Triton it starts) < options.
Every port is checked first: a taken one ends the command with one line naming the process
that holds it and status 1. SIGINT and SIGTERM stop the gateway, then its Triton (and stubs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import uvicorn

from gateway.core.config import Settings
from gateway.inference.addresses import parse_addresses
from gateway.inference.health import OK, TritonHealth
from gateway.jobs.engine.server import NatsServer
from gateway.main import create_app
from triton_launcher import PortInUseError, ServerConfig, TritonServer
from triton_launcher.ports import require_free

logger = logging.getLogger("gateway")

STANDARD_TRITON_PORTS = {"http_port": 8000, "grpc_port": 8001, "metrics_port": 8002}
NATS_STORE = Path("var/nats")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--host", help="listen address (GATEWAY_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (GATEWAY_PORT, default 8080)")
    parser.add_argument("--storage-url", help="folder or s3://bucket[/prefix] (GATEWAY_STORAGE_URL)")
    parser.add_argument("--triton-url", help="use the Triton already serving at host:port instead of starting one")
    parser.add_argument("--nats-url", help="share jobs and events through this NATS JetStream (GATEWAY_NATS_URL)")
    parser.add_argument("--start-nats", action="store_true", default=None,
                        help="start a local nats-server (GATEWAY_START_NATS, port GATEWAY_NATS_PORT, store var/nats)")
    return parser.parse_args(argv)


def load_settings(args: argparse.Namespace) -> Settings:
    overrides = {key: value for key, value in vars(args).items() if value is not None}
    if args.triton_url:
        overrides["start_triton"] = False
    return Settings(**overrides)


def triton_config() -> ServerConfig:
    """The launcher's settings (TRITON_*), on the standard ports where none is set."""
    config = ServerConfig.from_env()
    standard = STANDARD_TRITON_PORTS
    return replace(
        config, http_port=config.http_port or standard["http_port"], grpc_port=config.grpc_port or standard["grpc_port"],
        metrics_port=config.metrics_port or standard["metrics_port"],
    )


def check_ports(settings: Settings) -> None:
    """PortInUseError naming the holder of the gateway's port or, when it starts one, Triton's."""
    require_free({"gateway": settings.port}, settings.host)
    if settings.start_nats and not settings.nats_url:
        require_free({"NATS": settings.nats_port}, "127.0.0.1")
    if settings.start_triton and not settings.triton_urls:
        config = triton_config()
        ports = {"Triton HTTP": config.http_port, "Triton gRPC": config.grpc_port, "Triton metrics": config.metrics_port}
        require_free(ports, config.host)


@contextmanager
def triton(settings: Settings) -> Iterator[str]:
    """The gRPC URL of Triton: one started here on the standard ports, or the configured one."""
    if settings.triton_urls:
        logger.info("using the Tritons at %s (GATEWAY_TRITON_URLS; none started here)", ", ".join(settings.triton_urls))
        yield settings.triton_url
        return
    if not settings.start_triton:
        logger.info("using the Triton at %s (GATEWAY_START_TRITON=false)", settings.triton_url)
        yield settings.triton_url
        return
    config = triton_config()
    logger.info("starting Triton on %s (model repository %s); first start takes a while", config.host, config.model_repository)
    with TritonServer(config) as server:
        yield server.grpc_url


@contextmanager
def nats(settings: Settings) -> Iterator[str]:
    """The NATS URL jobs go through: the configured one, one started here (GATEWAY_START_NATS), or
    empty (the in-process engine)."""
    if settings.nats_url or not settings.start_nats:
        yield settings.nats_url
        return
    with NatsServer(NATS_STORE, port=settings.nats_port) as server:
        logger.info("started nats-server at %s (JetStream store %s)", server.url, NATS_STORE)
        yield server.url


def own_triton(settings: Settings) -> dict[str, bool]:
    """Settings for a Triton started here: its launcher reloads crashed models, so the gateway only
    holds requests and waits (one reload instead of two)."""
    if settings.start_triton and not settings.triton_urls and triton_config().supervise_stubs:
        return {"reload_crashed_models": False}
    return {}


def interrupt(signal_number: int, frame: object) -> None:
    """SIGTERM (systemd, Kubernetes, `kill`) unwinds like Ctrl-C, so Triton is stopped too.

    uvicorn handles SIGTERM while serving and re-raises it afterwards; with the default handler
    the process would die there without stopping the Triton it started.
    """
    raise KeyboardInterrupt(f"signal {signal_number}")


def banner(settings: Settings) -> str:
    url = f"http://{settings.host}:{settings.port}"
    return (
        f"\nGateway ready: {url}   (web page {url}/, API docs {url}/docs, Ctrl-C stops)\n"
        f"Try:  curl -F file=@photo.jpg {url}/v1/process -o anonymised.jpg\n"
    )


async def serve(settings: Settings) -> None:
    """Serve until stopped; the ready banner only once the canary passed through every model."""
    app = create_app(settings)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(), timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        if server.should_exit:  # SIGTERM / Ctrl-C while the app still starts (e.g. NATS not answering yet)
            task.cancel()
            logger.warning("stopped before the gateway was ready")
            break
        await asyncio.sleep(0.1)
    if server.started:
        failing = await first_canary(app.state.health, settings.canary_timeout_s * 2, task)
        if failing is None:
            print(banner(settings), flush=True)
        else:
            logger.error("gateway listening on %s:%d but NOT READY: %s (see /readyz)", settings.host, settings.port, failing)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def first_canary(health: TritonHealth, timeout_s: float, serving: asyncio.Task[None]) -> str | None:
    """None once every model passed the canary; else what still fails after ``timeout_s``."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not serving.done():
        failing = {model: detail for model, detail in health.checks().items() if detail != OK}
        if not failing:
            return None
        if asyncio.get_running_loop().time() > deadline:
            return "; ".join(f"{model}: {detail}" for model, detail in failing.items())
        await asyncio.sleep(0.1)
    return "stopped"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings(args)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, interrupt)
    try:
        check_ports(settings)
        if settings.triton_urls or not settings.start_triton:  # else the Triton started here
            parse_addresses(settings.triton_addresses)
    except (PortInUseError, ValueError) as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 1
    try:
        with triton(settings) as triton_url, nats(settings) as nats_url:
            started = {"triton_url": triton_url, "nats_url": nats_url, **own_triton(settings)}
            asyncio.run(serve(settings.model_copy(update=started)))
    except KeyboardInterrupt:
        return 0
    except Exception as error:  # noqa: BLE001 - a launcher or settings failure, said in one line
        logger.error("cannot start: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
