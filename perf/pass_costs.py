"""What each detection pass costs: `python -m perf.pass_costs [--sizes 1920x1080,4000x3000]`.

For each image size, the faces model's passes (and those of `detect` / `plates` when asked with
``--models``) exactly as served (the repository's config.pbtxt, the same session settings), run
alone in this process on a generated crowd of real faces: milliseconds per pass kind (fastest
of ``--repeats``; on a shared machine other work only ever adds time), rendering included, and
the total with and without ``thorough``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from imaging.passes import views_of
from perf.baseline.pipeline import load_detector, load_face_detector
from python_models.detectors import PassDetector
from tests.scenes import crowd


def _detectors(repository: Path, models: list[str]) -> dict[str, PassDetector]:
    loaders: dict[str, Callable[[Path], PassDetector]] = {"faces": load_face_detector, "detect": load_detector, "plates": partial(load_detector, model="plates")}
    return {model: loaders[model](repository) for model in models}


def _fastest_ms(detector: PassDetector, image: np.ndarray, views: list, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        detector.detect_views([image], views)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def measure(detector: PassDetector, width: int, height: int, repeats: int) -> list[str]:
    """Markdown rows: one per pass kind, then the default and thorough totals."""
    image = crowd(width, height, 6, 8, max(48, height // 12)).pixels
    rows = []
    for item in detector.plan(width, height):
        views = list(views_of([item]))
        canvas = "x".join(str(side) for side in views[0].size)
        ms = _fastest_ms(detector, image, views, repeats)
        rows.append(f"| {width}x{height} | {item.kind} | {item.scale:.3f} | {len(views)} | {canvas} | {ms:.0f} |")
    for thorough in (False, True):
        views = list(views_of(detector.plan(width, height, thorough)))
        ms = _fastest_ms(detector, image, views, max(1, repeats // 2))
        rows.append(f"| {width}x{height} | **all{' (thorough)' if thorough else ''}** | | {len(views)} | | {ms:.0f} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m perf.pass_costs", description=__doc__)
    parser.add_argument("--repository", type=Path, default=Path("model_repository"))
    parser.add_argument("--sizes", default="1920x1080,4000x3000")
    parser.add_argument("--models", default="faces", help="comma list among faces, detect")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    for model, detector in _detectors(args.repository, args.models.split(",")).items():
        print(f"\n`{model}`\n\n| image | pass | scale | views | first view (w x h) | ms |\n|---|---|---|---|---|---|")
        for size in args.sizes.split(","):
            width, height = (int(side) for side in size.split("x"))
            print("\n".join(measure(detector, width, height, args.repeats)))


if __name__ == "__main__":
    main()
