"""JPEG 2000 throughput of a 4K photo: the project's codec layer against Pillow's OpenJPEG.

    .venv/bin/python -m perf.jpeg2000 [--repeats 5] [--out perf/results] [--tag cpu2]

The photo is ultralytics' zidane.jpg (1280x720) enlarged 3x (bicubic) to 3840x2160. Each case
runs ``repeats`` times after one warm-up; the median time gives images/s and MPix/s. The codec
layer picks its backend itself (nvJPEG2000 on a GPU; on the CPU nvImageCodec's OpenJPEG to
decode, Pillow's OpenJPEG to encode) and the table names it. Speed is recorded, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, Jpeg2KImagePlugin, features

from imaging.codec import EncodeOptions, ImageDecoder, ImageEncoder

CASES = {"lossless": EncodeOptions("jp2", lossless=True), "ratio 20": EncodeOptions("jp2", compression_ratio=20)}


@dataclass(frozen=True)
class Measurement:
    operation: str  # "encode lossless", "decode ratio 20", ...
    system: str  # "codec layer" or "Pillow"
    backend: str
    seconds: float  # median of the repeats
    megapixels: float

    @property
    def images_per_s(self) -> float:
        return 1 / self.seconds

    @property
    def mpix_per_s(self) -> float:
        return self.megapixels / self.seconds


def photo_4k() -> np.ndarray:
    import ultralytics

    path = Path(ultralytics.__file__).parent / "assets" / "zidane.jpg"
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    return cv2.resize(pixels, (3840, 2160), interpolation=cv2.INTER_CUBIC)


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def pillow_encode(pixels: np.ndarray, options: EncodeOptions) -> bytes:
    kwargs: dict[str, object] = {"irreversible": not options.lossless, "mct": 1}
    if options.compression_ratio is not None:
        kwargs |= {"quality_mode": "rates", "quality_layers": [options.compression_ratio]}
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG2000", **kwargs)
    return buffer.getvalue()


def pillow_decode(data: bytes, reduce: int = 0) -> np.ndarray:
    with Jpeg2KImagePlugin.Jpeg2KImageFile(io.BytesIO(data)) as image:
        image.reduce = reduce
        image.load()
        return np.asarray(image)


def measure_jpeg2000(repeats: int = 5, device: str = "auto") -> list[Measurement]:
    """Encode and decode (full and 1/4 resolution) of the 4K photo, codec layer vs Pillow."""
    pixels = photo_4k()
    megapixels = pixels.shape[0] * pixels.shape[1] / 1e6
    decoder, encoder = ImageDecoder(device=device), ImageEncoder(device=device)
    found: list[Measurement] = []
    for name, options in CASES.items():
        encoded = encoder.encode_native(pixels, options)
        found.append(Measurement(f"encode {name}", "codec layer", encoded.backend, median_seconds(functools.partial(encoder.encode_native, pixels, options), repeats), megapixels))
        found.append(Measurement(f"encode {name}", "Pillow", "pillow", median_seconds(functools.partial(pillow_encode, pixels, options), repeats), megapixels))
        data = pillow_encode(pixels, options)
        backend = decoder.decode_native(data).backend
        found.append(Measurement(f"decode {name}", "codec layer", backend, median_seconds(functools.partial(decoder.decode_native, data), repeats), megapixels))
        found.append(Measurement(f"decode {name}", "Pillow", "pillow", median_seconds(functools.partial(pillow_decode, data), repeats), megapixels))
        preview = decoder.decode_native(data, reduce=2)
        found.append(Measurement(f"decode {name}, reduce=2", "codec layer", preview.backend, median_seconds(functools.partial(decoder.decode_native, data, reduce=2), repeats), megapixels / 16))
    return found


def markdown(found: list[Measurement], repeats: int, command: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    from nvidia import nvimgcodec

    lines = [
        f"# JPEG 2000 throughput, 4K photo ({date.today().isoformat()})",
        "",
        f"Command: `{command}`",
        "",
        f"Hardware: {os.cpu_count()} CPU cores ({cpu}), no GPU visible to this run unless a backend says `nvimgcodec-gpu`;"
        f" 1-minute load average at the end {os.getloadavg()[0]:.1f} (other work shares these cores: compare rows side by side).",
        f"Software: Pillow {Image.__version__} (OpenJPEG {features.version('jpg_2000')}), nvidia-nvimgcodec-cu12 {nvimgcodec.__version__}, numpy {np.__version__}.",
        f"Input: zidane.jpg enlarged to 3840x2160 (8.3 MPix), RGB 8-bit; median of {repeats} runs after a warm-up; `reduce=2` outputs 960x540 (MPix/s counts output pixels).",
        "",
        "| operation | system | backend | ms | images/s | MPix/s |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {m.operation} | {m.system} | {m.backend} | {m.seconds * 1000:.0f} | {m.images_per_s:.2f} | {m.mpix_per_s:.1f} |"
        for m in found
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m perf.jpeg2000", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--out", type=Path, default=Path("perf/results"))
    parser.add_argument("--tag", default=f"cpu{os.cpu_count()}")
    args = parser.parse_args(argv)
    found = measure_jpeg2000(args.repeats, args.device)
    command = "python -m perf.jpeg2000 " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    path = args.out / f"{date.today().isoformat()}-{args.tag}-jpeg2000.md"
    path.write_text(markdown(found, args.repeats, command.strip()))
    print(path)  # noqa: T201 - the CLI's output is the path it wrote


if __name__ == "__main__":
    main()
