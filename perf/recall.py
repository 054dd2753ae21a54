"""`python -m perf.recall`: face recall and throughput, this product's `pipeline` beside deface==1.5.0.

    .venv/bin/python -m perf.peer setup      # once: the peer in var/peer-venv
    .venv/bin/python -m perf.recall [--photos 20] [--copies 2] [--label before]

On the same images and cores, one system after the other per group: deface's CLI at full
resolution (its default), deface --scale 640x360, and `pipeline` through Triton gRPC at
concurrency 8 (a tritonserver started on free ports, or --triton-url). Recall pass: every suite
image as PNG, outputs PNG (lossless both ways, so a changed pixel is never codec noise; see
perf/recall_measure.py for when a face counts as anonymised). Throughput pass: the 1080p photos
as JPEG (quality 95), each system's default output. Writes perf/results/<date>-recall-<hardware>
[-<label>].md and .json.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from perf import services
from perf.environment import hardware_tag
from perf.errors import ConfigError, PerfError
from perf.machine import CpuMeter
from perf.peer import PEER_VENV, Peer, find_peer
from perf.recall_environment import describe
from perf.recall_files import decoded, peer_startup_s, private_copy, write_inputs, write_jpegs
from perf.recall_measure import face_changes
from perf.recall_results import JPEG_GROUP, ImageRecall, RecallRun, Throughput, save
from perf.recall_suite import GROUPS, PHOTOS, suite
from perf.recall_systems import (
    PIPELINE_LABEL,
    FolderRun,
    Parameters,
    Variant,
    pipeline_metadata,
    run_peer,
    run_pipeline,
)
from triton_launcher import LauncherError
from triton_launcher.config import DEFAULT_REPOSITORY

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PEER_SCALE = "640x360"
SAMPLE_KEYS = ("versions", "blur", "decoder", "output")  # what the report keeps of one pipeline METADATA


@dataclass(frozen=True)
class RecallConfig:
    groups: tuple[str, ...] = GROUPS
    photos: int = 20  # composed 1080p photos
    copies: int = 2  # the JPEG throughput pass sends each 1080p photo this many times
    concurrency: int = 8  # pipeline requests in flight
    peer_venv: Path | None = PEER_VENV  # None: this product only
    peer_scale: str = PEER_SCALE
    variants: tuple[Variant, ...] = ()  # pipeline with request parameters, beside the default path
    triton_url: str | None = None  # a running Triton's gRPC host:port; None: start one on free ports
    repository: Path = DEFAULT_REPOSITORY
    out_dir: Path = ROOT / "perf" / "results"
    work_dir: Path = ROOT / "var" / "perf-recall"
    label: str = ""

    def __post_init__(self) -> None:
        if unknown := set(self.groups) - set(GROUPS):
            raise ConfigError(f"unknown groups {sorted(unknown)}; groups are {', '.join(GROUPS)}")
        if self.photos < 0 or self.copies < 0 or self.concurrency < 1:
            raise ConfigError("photos and copies must be >= 0 and concurrency >= 1")


Runner = Callable[[Path, list[Path]], FolderRun]


class RecallBench:
    """One run: every system over every group in turn, then the JPEG throughput pass."""

    def __init__(self, config: RecallConfig, command: str, scratch: Path) -> None:
        self.config, self.scratch = config, scratch
        self.images = suite(config.groups, config.photos)
        self.peers = self._peers()
        self.run = RecallRun(started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), command=command,
                             environment=describe(self.config.peer_venv if self.peers else None),
                             configuration=self._configuration(), systems=[p.label for p in self.peers] + [PIPELINE_LABEL]
                             + [variant.label for variant in config.variants])

    def _peers(self) -> list[Peer]:
        if self.config.peer_venv is None:
            return []
        if find_peer(self.config.peer_venv) is None:
            raise ConfigError(f"no deface in {self.config.peer_venv}: run `python -m perf.peer setup` first (or --no-peer)")
        return [Peer(self.config.peer_venv), Peer(self.config.peer_venv, self.config.peer_scale)]

    def _configuration(self) -> dict[str, object]:
        settings = {key: str(value) if isinstance(value, Path) else value for key, value in asdict(self.config).items()}
        settings["peer_venv"] = str(self.config.peer_venv.relative_to(ROOT)) if self.config.peer_venv else None
        for key in ("out_dir", "work_dir", "repository"):
            settings[key] = os.path.relpath(str(getattr(self.config, key)), ROOT)
        return settings

    def execute(self) -> RecallRun:
        started = time.monotonic()
        files = write_inputs(self.images, self.scratch / "inputs")
        startups = {peer.label: peer_startup_s(peer, self.scratch / f"startup-{index}") for index, peer in enumerate(self.peers)}
        with self._triton() as url:
            sample = pipeline_metadata(url, files[next(iter(files))][0].read_bytes())  # also the warm-up
            self.run.configuration["pipeline"] = {key: sample.get(key) for key in SAMPLE_KEYS}
            runners = self._runners(url)
            for group, paths in files.items():
                self._recall_pass(group, paths, runners, startups)
            self._throughput_pass(runners, startups)
        self.run.elapsed_s = time.monotonic() - started
        return self.run

    @contextmanager
    def _triton(self) -> Iterator[str]:
        if self.config.triton_url:
            yield self.config.triton_url
            return
        with services.triton(self.config.repository, self.scratch / "triton.log") as server:
            yield server.grpc_url

    def _runners(self, url: str) -> dict[str, Runner]:
        runners: dict[str, Runner] = {}
        for peer in self.peers:
            runners[peer.label] = functools.partial(_run_peer_privately, peer)
        runners[PIPELINE_LABEL] = lambda folder, paths: run_pipeline(url, paths, self.config.concurrency)
        for variant in self.config.variants:
            runners[variant.label] = functools.partial(_run_variant, url, self.config.concurrency, variant.parameters)
        return runners

    def _measure(self, system: str, runner: Runner, group: str, paths: list[Path], startup_s: float) -> FolderRun:
        logger.info("== %s on %s (%d images)", system, group, len(paths))
        meter = CpuMeter().start()
        folder = self.scratch / "runs" / f"run-{len(self.run.throughputs)}"
        try:
            done = runner(folder, paths)
        except PerfError as error:  # noted; its images count as not anonymised, the other systems go on
            logger.error("%s on %s failed: %s", system, group, error)
            self.run.notes.append(f"{system} on {group} failed: {error}")
            return FolderRun({path.name: None for path in paths}, math.nan, [])
        self.run.throughputs.append(Throughput(system, group, len(paths), done.wall_s, startup_s, meter.share()))
        self.run.notes += [f"{system}: {error}" for error in done.errors]
        return done

    def _recall_pass(self, group: str, paths: list[Path], runners: dict[str, Runner], startups: dict[str, float]) -> None:
        chosen = [image for image in self.images if image.group == group]
        records = [ImageRecall(image.group, image.name, image.size, len(image.boxes)) for image in chosen]
        self.run.images += records
        for system, runner in runners.items():
            done = self._measure(system, runner, group, paths, startups.get(system, 0.0))
            for image, record, path in zip(chosen, records, paths, strict=True):
                output = decoded(done.outputs.get(path.name))
                record.changes[system] = face_changes(image.pixels, output, image.boxes)
                if output is None or output.shape != image.pixels.shape:
                    record.errors[system] = "no output" if output is None else f"output {output.shape} != input {image.pixels.shape}"

    def _throughput_pass(self, runners: dict[str, Runner], startups: dict[str, float]) -> None:
        photos = [image for image in self.images if image.group == PHOTOS]
        if not photos or self.config.copies == 0:
            return
        paths = write_jpegs(photos, self.scratch / "jpeg", self.config.copies)
        for system, runner in runners.items():
            done = self._measure(system, runner, JPEG_GROUP, paths, startups.get(system, 0.0))
            if missing := sum(decoded(output) is None for output in done.outputs.values()):
                self.run.notes.append(f"{system}: {missing} of {len(paths)} JPEG outputs missing or undecodable")


def run_recall(config: RecallConfig, command: str) -> RecallRun:
    """Run the benchmark in a scratch folder under ``config.work_dir`` (removed afterwards)."""
    config.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="recall-", dir=config.work_dir))
    try:
        return RecallBench(config, command, scratch).execute()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_report(run: RecallRun, config: RecallConfig) -> tuple[Path, Path]:
    """perf/results/<date>-recall-<hardware>[-<label>].md and .json."""
    from perf.recall_report import render

    stem = f"{time.strftime('%Y-%m-%d')}-recall-{hardware_tag()}" + (f"-{config.label}" if config.label else "")
    config.out_dir.mkdir(parents=True, exist_ok=True)
    markdown, data = config.out_dir / f"{stem}.md", config.out_dir / f"{stem}.json"
    save(run, data)
    markdown.write_text(render(run, data.name))
    return markdown, data


def parse_args(argv: list[str] | None) -> RecallConfig:
    defaults = RecallConfig()
    parser = argparse.ArgumentParser(prog="python -m perf.recall", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", default=",".join(defaults.groups), help=f"among {', '.join(GROUPS)} (default all)")
    parser.add_argument("--photos", type=int, default=defaults.photos, help="composed 1080p photos (default %(default)s)")
    parser.add_argument("--copies", type=int, default=defaults.copies,
                        help="times each 1080p photo is sent in the JPEG throughput pass; 0 skips it (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency, help="pipeline requests in flight (default 8)")
    parser.add_argument("--no-peer", action="store_true", help="measure this product only (no deface)")
    parser.add_argument("--peer-venv", type=Path, default=PEER_VENV, help="the peer's venv (default var/peer-venv)")
    parser.add_argument("--variant", action="append", default=[],
                        help="also measure pipeline with request parameters, NAME:key=value[,key=value] "
                        "(e.g. thorough:thorough=true); repeatable")
    parser.add_argument("--triton-url", help="a running Triton's gRPC host:port (default: start one on free ports)")
    parser.add_argument("--model-repository", type=Path, default=defaults.repository)
    parser.add_argument("--out", type=Path, default=defaults.out_dir, help="results folder (default perf/results)")
    parser.add_argument("--label", default="", help="suffix of the result files, e.g. before")
    args = parser.parse_args(argv)
    groups = tuple(name.strip() for name in args.groups.split(",") if name.strip())
    try:
        variants = tuple(Variant.parse(raw) for raw in args.variant)
    except ValueError as error:
        raise ConfigError(str(error)) from error
    return RecallConfig(groups=groups, photos=args.photos, copies=args.copies, concurrency=args.concurrency,
                        peer_venv=None if args.no_peer else args.peer_venv, triton_url=args.triton_url, variants=variants,
                        repository=args.model_repository, out_dir=args.out, label=args.label)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = parse_args(argv)
        command = shlex.join(["python", "-m", "perf.recall", *(sys.argv[1:] if argv is None else argv)])
        markdown, data = write_report(run_recall(config, command), config)
    except (PerfError, LauncherError) as error:
        logger.error("%s", error)
        return 1
    print(f"results: {markdown}\njson:    {data}")
    return 0

def _run_peer_privately(peer: Peer, folder: Path, paths: list[Path]) -> FolderRun:
    """The peer over private copies of ``paths`` in ``folder`` (it writes beside its inputs)."""
    return run_peer(peer, folder, private_copy(paths, folder))


def _run_variant(url: str, concurrency: int, parameters: Parameters, folder: Path, paths: list[Path]) -> FolderRun:
    """`pipeline` with a variant's request parameters (``folder`` unused: results stay in memory)."""
    return run_pipeline(url, paths, concurrency, parameters)


if __name__ == "__main__":
    sys.exit(main())

