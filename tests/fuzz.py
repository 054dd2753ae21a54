"""Mutation fuzzing of the served models: seeded mutations of real photos in every format,
sent to `pipeline`, `transcode` and `process` on a real tritonserver.

Every answer must be a success or a named refusal (INVALID_ARGUMENT with an
:mod:`imaging.errors` code such as ``corrupt_image``); anything else (a dead Python stub, an
internal error, a hang) is a finding. The suite runs a bounded, seeded batch
(``tests/server/test_fuzz.py``); the long run writes each finding to the corpus folder, which
the suite replays::

    python -m tests.fuzz --minutes 10            # starts its own tritonserver on free ports
    python -m tests.fuzz --minutes 10 --url 127.0.0.1:8001 --corpus var/fuzz-findings
    python -m tests.fuzz --minutes 10 --in-process [--without-validation]

``--in-process`` decodes in a child process instead (``ImageDecoder.decode`` and
``decode_native``, what the models call; about 100x faster than through Triton) and restarts it
when a native decoder kills it; ``--without-validation`` takes the header validators out of that
child, to measure what they prevent (measured: 17 native crashes in 50000 mutations without them,
0 with them).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
from PIL import Image
from tritonclient.utils import InferenceServerException

from contracts.tensors import IMAGE, METADATA, RESULT
from imaging import errors
from imaging.formats import sniff_format
from tests.photos import photo_pixels

logger = logging.getLogger(__name__)

CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
INTERESTING = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
EXTENSIONS = {"jpeg": "jpg", "png": "png", "jp2": "jp2", "j2k": "j2k", "webp": "webp", "tiff": "tif", "bmp": "bmp"}
CORPUS_SUFFIXES = frozenset({*EXTENSIONS.values(), "bin"})  # a finding's input; its note is .json


@dataclass(frozen=True)
class Target:
    """A model and the request parameters it is fuzzed with."""

    model: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.model}{json.dumps(self.parameters, sort_keys=True) if self.parameters else ''}"


TARGETS = (
    Target("pipeline"),
    Target("transcode", {"format": "png"}),
    Target("transcode", {"format": "jp2", "lossless": True}),
    Target("process", {"operations": json.dumps([{"op": "rotate", "angle": 90}, {"op": "anonymize"}, {"op": "format", "format": "webp"}])}),
)


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@cache
def seed_files() -> dict[str, bytes]:
    """Small real photos (a 96x80 crop of the astronaut) in every format the service reads."""
    crop = Image.fromarray(photo_pixels("astronaut.png")[20:100, 180:276])
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "fuzz"  # Make, an out-of-line ASCII value
    exif.get_ifd(0x8769)[0x9003] = "2026:11:30 00:00:00"  # DateTimeOriginal, in the Exif sub-IFD
    exif.get_ifd(0x8825)[0x0001] = "N"  # GPSLatitudeRef, in the GPS sub-IFD
    return {
        "baseline.jpg": _encode(crop, "JPEG", quality=85, exif=exif.tobytes()),
        "progressive.jpg": _encode(crop, "JPEG", progressive=True),
        "rgb.png": _encode(crop, "PNG"),
        "palette.png": _encode(crop.convert("P"), "PNG", transparency=0),
        "tiled.jp2": _encode(crop, "JPEG2000", tile_size=(64, 64), irreversible=True),
        "stream.j2k": _encode(crop, "JPEG2000", no_jp2=True),
        "lossy.webp": _encode(crop, "WEBP", exif=exif.tobytes()),
        "lossless.webp": _encode(crop.convert("RGBA"), "WEBP", lossless=True),
        "lzw.tif": _encode(crop, "TIFF", compression="tiff_lzw"),
        "raw.tif": _encode(crop, "TIFF"),
        "rgb.bmp": _encode(crop, "BMP"),
    }


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four random edits, most of them in the first 512 bytes (where the headers are)."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        at = rng.randrange(min(len(out), 512)) if rng.random() < 0.75 else rng.randrange(len(out))
        kind = rng.randrange(7)
        if kind == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at] = rng.choice(INTERESTING) & 0xFF
        elif kind == 2:
            size, big = rng.choice((2, 4)), rng.choice((True, False))  # draws as choice(("big", "little")) did
            out[at : at + size] = (rng.choice(INTERESTING) & ((1 << 8 * size) - 1)).to_bytes(size, "big" if big else "little")
        elif kind == 3:
            del out[rng.randrange(len(out)) :]
        elif kind == 4:
            start = rng.randrange(len(out))
            out[at:at] = out[start : start + rng.randint(1, 64)]
        elif kind == 5:
            del out[at : at + rng.randint(1, 16)]
        else:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(out)


def cases(count: int, seed: int, targets: tuple[Target, ...] = TARGETS) -> Iterator[tuple[str, Target, bytes]]:
    """``count`` deterministic (seed name, target, mutated bytes) triples."""
    rng = random.Random(seed)
    seeds = seed_files()
    names = sorted(seeds)
    for index in range(count):
        name = names[index % len(names)]
        yield name, targets[index % len(targets)], mutate(seeds[name], rng)


@cache
def named_codes() -> frozenset[str]:
    """Every error code the imaging package names (one per ImageError subclass)."""
    import imaging.codec  # noqa: F401 - defines the subclasses used by the models

    found, pending = set(), [errors.ImageError]
    while pending:
        cls = pending.pop()
        found.add(cls.code)
        pending += cls.__subclasses__()
    return frozenset(found - {errors.ImageError.code})


@dataclass(frozen=True)
class Answer:
    """What a model did with one input: "ok", "refused" (``detail``: the code) or "problem"."""

    kind: str
    detail: str = ""


def classify(error: InferenceServerException) -> Answer:
    """A named refusal (INVALID_ARGUMENT naming an imaging error code), or a problem."""
    message = error.message() or ""
    codes = sorted(set(re.findall(r"\b([a-z]+(?:_[a-z]+)+)\b", message)) & named_codes())
    if "INVALID_ARGUMENT" in str(error.status()) and codes:
        return Answer("refused", codes[0])
    return Answer("problem", f"{error.status()}: {message[:300]}")


def answer(client: grpcclient.InferenceServerClient, target: Target, data: bytes, timeout_s: float = 120) -> Answer:
    """Send ``data`` to ``target`` (one image, one request) and classify the reply."""
    image = grpcclient.InferInput(IMAGE, [1, 1], "BYTES")
    image.set_data_from_numpy(np.array([[data]], dtype=np.object_))
    outputs = [grpcclient.InferRequestedOutput(RESULT), grpcclient.InferRequestedOutput(METADATA)]
    try:
        client.infer(target.model, [image], outputs=outputs, parameters=target.parameters or None, client_timeout=timeout_s)
    except InferenceServerException as error:
        return classify(error)
    return Answer("ok")


def send(client: grpcclient.InferenceServerClient, target: Target, data: bytes) -> str | None:
    """None when the model answered or refused by name; else the problem."""
    result = answer(client, target, data)
    return result.detail if result.kind == "problem" else None


def healthy(client: grpcclient.InferenceServerClient) -> bool:
    """Every target answers a good photo."""
    good = seed_files()["baseline.jpg"]
    return all(send(client, target, good) is None for target in TARGETS)


def save_finding(corpus: Path, target: Target, data: bytes, problem: str) -> Path:
    """The input as ``<sha1>.<ext>`` and what happened as ``<sha1>.json`` beside it."""
    corpus.mkdir(parents=True, exist_ok=True)
    try:
        extension = EXTENSIONS.get(sniff_format(data), "bin")
    except errors.ImageError:
        extension = "bin"
    digest = hashlib.sha1(data).hexdigest()[:16]
    path = corpus / f"{digest}.{extension}"
    path.write_bytes(data)
    (corpus / f"{digest}.json").write_text(json.dumps({"target": target.label, "problem": problem}, indent=1) + "\n")
    return path


def run(url: str, minutes: float, seed: int, corpus: Path, workers: int) -> int:
    """Fuzz until the time is up; returns the number of findings (each saved to ``corpus``)."""
    deadline, findings, sent = time.monotonic() + 60 * minutes, 0, 0
    with grpcclient.InferenceServerClient(url) as client, ThreadPoolExecutor(workers) as pool:
        generator = cases(10**9, seed)
        while time.monotonic() < deadline:
            batch = [next(generator) for _ in range(4 * workers)]
            results = pool.map(lambda case: send(client, case[1], case[2]), batch)
            for (name, target, data), problem in zip(batch, results, strict=True):
                sent += 1
                if problem is not None:
                    findings += 1
                    path = save_finding(corpus, target, data, problem)
                    logger.warning("finding %d (%s from %s): %s -> %s", findings, target.label, name, problem, path)
            if findings and not _wait_until_healthy(client, 120):
                logger.error("the server did not recover; stopping")
                break
    logger.info("sent %d mutations in %.1f minutes: %d findings", sent, minutes, findings)
    return findings


def _wait_until_healthy(client: grpcclient.InferenceServerClient, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if healthy(client):
            return True
        time.sleep(2)
    return False


def hunt_in_process(minutes: float, seed: int, corpus: Path, validate: bool) -> int:
    """Decode mutations in a child process, restarted after each native crash; returns the
    number of crashes (each input saved to ``corpus``)."""
    deadline, start, crashes = time.monotonic() + 60 * minutes, 0, 0
    with tempfile.TemporaryDirectory() as folder:
        progress = Path(folder) / "progress"
        while time.monotonic() < deadline:
            command = [sys.executable, "-m", "tests.fuzz", "--child", str(progress), "--seed", str(seed), "--start", str(start),
                       "--minutes", str((deadline - time.monotonic()) / 60)]
            if not validate:
                command.append("--without-validation")
            environment = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])}
            child = subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if child.returncode == 0:
                break
            index = int(progress.read_text())
            _, _, data = next(case for number, case in enumerate(cases(index + 1, seed)) if number == index)
            crashes += 1
            note = f"decoder process died with signal {-child.returncode} (validation {'on' if validate else 'off'})"
            path = save_finding(corpus, Target("decode (in-process)"), data, note)
            logger.warning("crash %d at mutation %d (signal %d) -> %s", crashes, index, -child.returncode, path)
            start = index + 1
        sent = int(progress.read_text()) + 1 if progress.exists() else 0
    logger.info("in-process: %d mutations, %d native crashes (validation %s)", sent, crashes, "on" if validate else "off")
    return crashes


def _no_validation(data: bytes | memoryview, fmt: str, total_size: int | None = None) -> None:
    """Stands in for :func:`imaging.validate_header.validate_header` in ``--without-validation``."""


def _child(progress: Path, seed: int, start: int, minutes: float, validate: bool) -> int:
    """Decode every mutation from ``start`` on; ``progress`` names the one being decoded."""
    import imaging.codec

    logging.disable(logging.CRITICAL)
    if not validate:
        imaging.codec.validate_header = _no_validation
    decoder = imaging.codec.ImageDecoder(device="cpu")
    seeds = seed_files()
    deadline = time.monotonic() + 60 * minutes
    for index, (_, _, data) in enumerate(cases(10**9, seed)):
        if time.monotonic() > deadline:
            return 0
        if index < start:
            continue
        progress.write_text(str(index))
        for decode in (decoder.decode, decoder.decode_native):
            with contextlib.suppress(errors.ImageError):
                decode(data)
        if data[:12] == seeds["tiled.jp2"][:12] or data[:2] == b"\xff\x4f":
            decoder.decode(seeds["tiled.jp2"])  # a failed JPEG 2000 decode can break the next one
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="where findings are written (default: the suite's corpus)")
    parser.add_argument("--url", help="gRPC address of a running tritonserver (default: start one on free ports)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--in-process", action="store_true", help="decode in a child process instead of sending to Triton")
    parser.add_argument("--without-validation", action="store_true", help="in-process: without the header validators")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.seed, args.start, args.minutes, not args.without_validation)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logger.info("seed %d", args.seed)
    if args.in_process:
        return 1 if hunt_in_process(args.minutes, args.seed, args.corpus, not args.without_validation) else 0
    if args.url:
        return 1 if run(args.url, args.minutes, args.seed, args.corpus, args.workers) else 0
    from tests.conftest import REPOSITORY
    from triton_launcher import ServerConfig, TritonServer

    with TritonServer(ServerConfig.from_env(model_repository=REPOSITORY)) as server:
        return 1 if run(server.grpc_url, args.minutes, args.seed, args.corpus, args.workers) else 0


if __name__ == "__main__":
    raise SystemExit(main())
