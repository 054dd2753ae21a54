"""The device run of issue 13: the GPU repository served on one GPU, measured in one go.

Here (prepares the carry folder, .device/, ignored by git):

    .venv/bin/python -m perf.device_run prepare

On the GPU machine, one call per part of .device/ (carry `.device/partN`), the last one runs:

    python3 -m perf.device_run unpack --part 1
    python3 -m perf.device_run unpack --part 2
    python3 -m perf.device_run unpack --part 3 && PYTHONPATH=$PWD/.device/site:$PWD python3 -m perf.device_run run --out $OUT

`run` records the machine, runs the `gpu`-marked tests, renders the GPU repository
(export.gpu_repository: detectors and blur on torch/CUDA, codecs on nvImageCodec), starts
tritonserver on it, sends 1080p JPEG and JPEG 2000 photos to `pipeline` at each concurrency
(closed loop, perf.load), with Triton's per-model statistics and nvidia-smi's utilisation
around each, measures JPEG 2000 decode on the GPU against OpenJPEG on every CPU core, and writes
results.json and report.md (perf.device_report) to ``--out`` after every step, so a run cut
short still returns what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes.util
import functools
import importlib
import io
import json
import logging
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from perf.device_carry import part_limit, prepare, unpack
from perf.device_report import write_report
from perf.errors import ConfigError, MeasurementError

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
CARRY = ROOT / ".device"
GPU_TESTS = (
    "tests/imaging/test_gpu_blur.py", "tests/imaging/test_gpu_codec.py", "tests/python_models/test_torch_session.py",
    "tests/imaging/test_jpeg2000.py",
)
INPUT_SIZE = (1920, 1080)
INPUT_PHOTOS = ("zidane.jpg", "bus.jpg", "grace_hopper.jpg", "astronaut.png")
# What the models import, checked beside the carried numpy<2 (the machine's own builds expect numpy 2).
IMPORTS = ("cv2", "onnxruntime", "nvidia.nvimgcodec", "tritonclient.grpc", "PIL", "skimage", "cupy", "onnx")
Results = dict[str, Any]
STEPS = ("tests", "jpeg2000", "gpu_codec", "detectors", "pipeline")  # the machine is always recorded first


def parse_concurrencies(raw: str) -> tuple[int, ...]:
    """'16,64,256' -> (16, 64, 256); ConfigError for an empty list or a value < 1."""
    try:
        values = tuple(int(value) for value in raw.split(",") if value.strip())
    except ValueError as error:
        raise ConfigError(f"concurrencies are comma-separated integers, got {raw!r}") from error
    if not values or min(values) < 1:
        raise ConfigError(f"concurrencies must be integers >= 1, got {raw!r}")
    return values


def parse_steps(raw: str) -> tuple[str, ...]:
    """'tests,pipeline' -> ('tests', 'pipeline'); ConfigError for an unknown step."""
    steps = tuple(step.strip() for step in raw.split(",") if step.strip())
    if not steps or any(step not in STEPS for step in steps):
        raise ConfigError(f"steps must be among {', '.join(STEPS)}, got {raw!r}")
    return steps


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m perf.device_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--carry", type=Path, default=CARRY, help="the carry folder (default: .device)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("prepare", help="write the carry folder here (downloads the cp312 wheels)")
    part = commands.add_parser("unpack", help="on the device: install one carried part")
    part.add_argument("--part", type=int, required=True, help="the part's number (1, 2, 3)")
    run = commands.add_parser("run", help="on the device: test, serve and measure; results to --out")
    run.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "var/device-run")), help="results folder (default: $OUT)")
    run.add_argument("--concurrency", type=parse_concurrencies, default=(16, 64, 256), help="comma-separated (default: 16,64,256)")
    run.add_argument("--warmup", type=float, default=5.0, help="seconds before each measured window (default: 5)")
    run.add_argument("--seconds", type=float, default=10.0, help="measured window per case (default: 10)")
    run.add_argument("--instances", type=int, default=2, help="instances of each model on the GPU (default: 2)")
    run.add_argument("--steps", type=parse_steps, default=STEPS, help=f"comma-separated among {','.join(STEPS)} (default: all)")
    run.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: rehearse the pipeline step where no GPU is")
    report = commands.add_parser("report", help="write report.md from a results.json")
    report.add_argument("results", type=Path)
    return parser


def benchmark_inputs() -> dict[str, bytes]:
    """The 1080p photos as JPEG (quality 90) and lossy JPEG 2000 (ratio 20), made here."""
    from imaging.codec import ImageEncoder
    from imaging.options import EncodeOptions
    from perf.inputs import cover_resize, encode_jpeg
    from tests.photos import photo_pixels

    encoder = ImageEncoder(device="cpu")
    inputs = {}
    for name in INPUT_PHOTOS:
        pixels = cover_resize(photo_pixels(name), *INPUT_SIZE)
        stem = Path(name).stem
        inputs[f"{stem}.jpg"] = encode_jpeg(pixels)
        inputs[f"{stem}.jp2"] = encoder.encode_native(pixels, EncodeOptions("jp2", compression_ratio=20)).data
    return inputs


def save(out: Path, results: Results) -> None:
    """results.json and report.md, rewritten after every step."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_report(results, out / "report.md")


def step(results: Results, name: str, out: Path, action: Callable[[], Any]) -> Any:
    """Run one step; its value or its error goes into results[name]; the files are saved either way."""
    started = time.perf_counter()
    try:
        value = action()
        results[name] = value
    except Exception as error:  # noqa: BLE001 - a failed step is reported, the next ones still run
        logger.exception("step %s failed", name)
        value, results[name] = None, {"error": f"{type(error).__name__}: {error}"[:2000]}
    results.setdefault("step_seconds", {})[name] = round(time.perf_counter() - started, 1)
    save(out, results)
    return value


def environment() -> dict[str, Any]:
    import numpy
    import torch

    facts: dict[str, Any] = {
        "python": platform.python_version(), "numpy": numpy.__version__, "torch": torch.__version__,
        "cuda": torch.version.cuda, "cpus": os.cpu_count(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    facts["libpython"] = ctypes.util.find_library(f"python{sys.version_info[0]}.{sys.version_info[1]}") or _libpython_dir()
    facts["imports"] = {name: _import_version(name) for name in IMPORTS}
    facts["nvidia_smi"] = _command(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm", "--format=csv,noheader"])
    return facts


def _import_version(name: str) -> str:
    """The module's version beside the carried numpy, or why it does not import."""
    try:
        module = importlib.import_module(name)
    except Exception as error:  # noqa: BLE001 - any import failure is the finding
        return f"{type(error).__name__}: {error}"[:300]
    return str(getattr(module, "__version__", "imported"))


def _libpython_dir() -> str | None:
    """The interpreter's LIBDIR when it holds the shared libpython the Triton stub links
    (added to LD_LIBRARY_PATH), else None."""
    library = sysconfig.get_config_var("LDLIBRARY") or ""
    folder = sysconfig.get_config_var("LIBDIR") or ""
    shared = library.endswith(".so") or ".so." in library
    return folder if shared and (Path(folder) / library).is_file() else None


def _command(argv: Sequence[str], timeout_s: float = 30) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{type(error).__name__}: {error}"


def gpu_tests(out: Path) -> dict[str, Any]:
    """The gpu-marked tests (and their CPU twins) on this machine; the log goes to ``out``."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu", *GPU_TESTS]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    (out / "gpu_tests.log").write_text(completed.stdout + completed.stderr)
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return {"command": " ".join(["python -m pytest -q -m gpu", *GPU_TESTS]), "exit_status": completed.returncode,
            "summary": lines[-1] if lines else completed.stderr[-500:]}


class GpuSampler:
    """nvidia-smi every 200 ms while a case runs: mean and peak utilisation, peak memory."""

    summary: dict[str, Any]

    def __enter__(self) -> GpuSampler:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits", "-lms", "200"]
        try:
            self._process: subprocess.Popen[str] | None = subprocess.Popen(query, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError as error:  # no nvidia-smi (a CPU rehearsal): the case is measured without it
            self._process, self.summary = None, {"samples": 0, "error": f"{type(error).__name__}: {error}"}
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        self._process.terminate()
        output, _ = self._process.communicate(timeout=10)
        samples = [tuple(float(value) for value in line.split(",")) for line in output.splitlines() if line.count(",") == 1]
        self.summary = summarise_gpu(samples)


def summarise_gpu(samples: Sequence[tuple[float, ...]]) -> dict[str, float | int]:
    """(utilisation %, memory MiB) samples -> mean/peak utilisation and peak memory."""
    if not samples:
        return {"samples": 0}
    utilisation = [sample[0] for sample in samples]
    return {"samples": len(samples), "util_mean": round(sum(utilisation) / len(utilisation), 1),
            "util_peak": max(utilisation), "memory_peak_mib": max(sample[1] for sample in samples)}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 < fraction <= 1) of ``values``; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered))) - 1))]


def serve_and_measure(
    out: Path, inputs: Path, concurrencies: Sequence[int], warmup: float, seconds: float, target: dict[str, Any]
) -> list[dict[str, Any]]:
    """Render the GPU repository (``target``: GpuTarget fields), start tritonserver on it, measure
    each format at each concurrency. MeasurementError when ``inputs`` holds no photo."""
    import tritonclient.grpc as grpcclient

    from export.gpu_repository import GpuTarget, render_gpu_repository
    from triton_launcher import ServerConfig, TritonServer

    repository = Path(tempfile.mkdtemp(prefix="gpu-repository-")) / "model_repository"
    libpython = _libpython_dir()
    if libpython:  # the stub links libpython3.X.so; the interpreter's LIBDIR may not be on the loader's path
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [libpython, os.environ.get("LD_LIBRARY_PATH", "")]))
    render_gpu_repository(ROOT / "model_repository", repository, GpuTarget(**target))
    cases = []
    with TritonServer(ServerConfig(model_repository=repository), log_path=out / "tritonserver.log") as server:
        client = grpcclient.InferenceServerClient(server.grpc_url)
        for suffix, label in ((".jpg", "1080p JPEG"), (".jp2", "1080p JPEG 2000")):
            payloads = [path.read_bytes() for path in sorted(inputs.glob(f"*{suffix}"))]
            if not payloads:
                raise MeasurementError(f"no {suffix} input in {inputs}: unpack the carried parts first")
            for concurrency in concurrencies:
                cases.append(measure_case(server.grpc_url, client, label, payloads, concurrency, warmup, seconds))
                save_partial = out / "cases.json"
                save_partial.write_text(json.dumps(cases, indent=1, default=str))
    return cases


def measure_case(url: str, client: Any, label: str, payloads: Sequence[bytes], concurrency: int, warmup: float, seconds: float) -> dict[str, Any]:
    from perf.clients import GrpcPipeline
    from perf.load import Stream, Window, run_streams
    from perf.triton_stats import difference, snapshot

    async def measure() -> Any:
        pipeline = GrpcPipeline(url)
        try:
            return (await run_streams([Stream(label, pipeline.send, concurrency)], payloads, Window(warmup, seconds)))[0]
        finally:
            await pipeline.close()

    before = snapshot(client)
    with GpuSampler() as gpu:
        result = asyncio.run(measure())
    models = {split.model: {"requests": split.requests, "batch": round(split.batch_size, 2), "queue_ms": round(split.queue_ms, 2),
                            "compute_ms": round(split.compute_input_ms + split.compute_infer_ms + split.compute_output_ms, 2)}
              for split in difference(before, snapshot(client))}
    latencies = result.latencies_s
    return {"input": label, "concurrency": concurrency, "images_per_s": round(result.throughput, 1),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 1), "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
            "completed": len(latencies), "errors": result.errors, "first_error": result.first_error, "gpu": gpu.summary, "models": models}


def pillow_decode(data: bytes) -> None:
    """OpenJPEG through Pillow, the CPU reference (top level: it runs in worker processes)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def rate(work: Callable[[], int], seconds: float) -> float:
    """Images per second of ``work`` (returns the images it did) repeated for ``seconds`` after one warm-up."""
    work()
    started, images = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        images += work()
    return images / (time.perf_counter() - started)


def jpeg2000_decode(inputs: Path, seconds: float, batch: int = 32) -> dict[str, Any]:
    """The carried 1080p JPEG 2000 photos: nvJPEG2000 batch decode (imaging.gpu_codec, to device
    memory) against OpenJPEG (Pillow) on one core and on every core (a process per core)."""
    import torch

    from imaging.gpu_codec import GpuCodec

    payloads = [path.read_bytes() for path in sorted(inputs.glob("*.jp2"))]
    if not payloads:
        raise MeasurementError(f"no .jp2 input in {inputs}: unpack the carried parts first")
    chunk = [payloads[index % len(payloads)] for index in range(batch)]
    codec = GpuCodec()

    def gpu() -> int:
        decoded = codec.decode(chunk)
        torch.cuda.synchronize()
        return len(decoded)

    def one_core() -> int:
        for data in payloads:
            pillow_decode(data)
        return len(payloads)

    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        def all_cores() -> int:
            return len(list(pool.map(pillow_decode, payloads * cores)))

        figures = {"gpu": rate(gpu, seconds), "one_core": rate(one_core, seconds), "all_cores": rate(all_cores, seconds)}
    return {"images": "1080p JPEG 2000, ratio 20", "gpu_batch": batch, "cores": cores,
            **{f"{name}_images_per_s": round(value, 1) for name, value in figures.items()},
            "speedup_vs_all_cores": round(figures["gpu"] / figures["all_cores"], 1) if figures["all_cores"] else None}


def gpu_resident(inputs: Path, seconds: float, batches: Sequence[int] = (16, 64)) -> list[dict[str, Any]]:
    """imaging.gpu_codec.anonymise_batch on the 1080p JPEGs (a centred box a fifth of each side
    blurred), in process, no Triton: the rate with the pixels kept on the GPU, per batch size."""
    import numpy as np

    from imaging.gpu_codec import GpuCodec, anonymise_batch
    from imaging.options import EncodeOptions

    payloads = [path.read_bytes() for path in sorted(inputs.glob("*.jpg"))]
    if not payloads:
        raise MeasurementError(f"no .jpg input in {inputs}: unpack the carried parts first")
    codec, options = GpuCodec(), EncodeOptions("jpeg", quality=90)
    width, height = INPUT_SIZE
    box = np.array([[width * 0.4, height * 0.4, width * 0.6, height * 0.6]], dtype=np.float32)
    rows = []
    for batch in batches:
        chunk = [payloads[index % len(payloads)] for index in range(batch)]
        anonymise_batch(codec, chunk, [box] * batch, options)  # warm-up: codec and kernel set-up
        started, images = time.perf_counter(), 0
        while time.perf_counter() - started < seconds:
            images += len(anonymise_batch(codec, chunk, [box] * batch, options))
        elapsed = time.perf_counter() - started
        rows.append({"batch": batch, "images": images, "images_per_s": round(images / elapsed, 1)})
    return rows


def detector_rates(inputs: Path, seconds: float, device: str) -> list[dict[str, Any]]:
    """`faces` and `plates` in process as the GPU repository configures them (torch on ``device``,
    FP16 on CUDA, batches of 16), every pass of each 1080p photo: images/s of the detector alone
    (canvas rendering on the CPU, the network on the GPU, merging)."""
    from perf.repository import served_config, served_version_dir
    from python_models.model_config import configured_centerface, configured_yolo

    images = []
    for path in sorted(inputs.glob("*.jpg")):
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("RGB")))
    if not images:
        raise MeasurementError(f"no .jpg input in {inputs}: unpack the carried parts first")
    knobs = {"runtime": "torch", "runtime_device": device, "runtime_precision": "fp16" if device == "cuda" else "fp32", "session_batch": "16"}
    rows = []
    for name, build in (("faces", configured_centerface), ("plates", configured_yolo)):
        model_dir = ROOT / "model_repository" / name
        config = served_config(model_dir)
        config["parameters"] = {**config.get("parameters", {}), **{key: {"string_value": value} for key, value in knobs.items()}}
        detector = build(config, served_version_dir(model_dir))
        per_second = rate(functools.partial(_detect_all, detector, images), seconds)
        rows.append({"model": name, "images": len(images), "images_per_s": round(per_second, 1)})
    return rows


def _detect_all(detector: Any, images: Sequence[np.ndarray]) -> int:
    return len(detector.detect(images))


def absolute_pythonpath() -> None:
    """PYTHONPATH entries made absolute: Triton's Python stubs inherit it but not the working directory."""
    entries = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if entries:
        os.environ["PYTHONPATH"] = os.pathsep.join(str(Path(entry).resolve()) for entry in entries)


def run(args: argparse.Namespace) -> Results:
    absolute_pythonpath()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    results: Results = {"command": "python3 -m perf.device_run " + " ".join(sys.argv[1:]), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    step(results, "environment", out, lambda: {**environment(), "unpacked": sorted(path.name for path in args.carry.glob("unpacked-part*"))})
    inputs = args.carry / "inputs"
    actions: dict[str, tuple[str, Callable[[], Any]]] = {  # in run order: the pipeline first, should the call be cut short
        "pipeline": ("pipeline", lambda: serve_and_measure(out, inputs, args.concurrency, args.warmup, args.seconds,
                                                           {"instances": args.instances, "device": args.device})),
        "tests": ("gpu_tests", lambda: gpu_tests(out)),
        "jpeg2000": ("jpeg2000", lambda: jpeg2000_decode(inputs, args.seconds)),
        "gpu_codec": ("gpu_codec", lambda: gpu_resident(inputs, args.seconds)),
        "detectors": ("detectors", lambda: detector_rates(inputs, args.seconds, args.device)),
    }
    for name, (key, action) in actions.items():
        if name in args.steps:
            step(results, key, out, action)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "prepare":
            parts = prepare(args.carry, ROOT / "model_repository", benchmark_inputs(), part_bytes=part_limit(ROOT))
            for number, part in enumerate(parts, start=1):
                print(f"{args.carry}/part{number}: {sum(item.size for item in part) / (1 << 20):.1f} MiB, {len(part)} files")
        elif args.command == "unpack":
            unpack(args.carry / f"part{args.part}", args.carry / "site", ROOT / "model_repository", args.carry / "inputs")
            (args.carry / f"unpacked-part{args.part}").touch()  # `run` reports which parts this machine holds
        elif args.command == "run":
            run(args)
        else:
            write_report(json.loads(args.results.read_text()), args.results.with_name("report.md"))
    except ConfigError as error:
        logger.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
