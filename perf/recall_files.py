"""Files of a recall run: the suite written as PNG and JPEG, private copies for deface, outputs decoded."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from perf.peer import Peer
from perf.recall_suite import SuiteImage

JPEG_QUALITY = 95  # the throughput pass's inputs


def write_inputs(images: list[SuiteImage], folder: Path) -> dict[str, list[Path]]:
    """Each image as PNG under folder/<group>/<name>.png; the files by group."""
    files: dict[str, list[Path]] = {}
    for image in images:
        path = folder / image.group / f"{image.name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.pixels).save(path, format="PNG", compress_level=1)
        files.setdefault(image.group, []).append(path)
    return files


def write_jpegs(images: list[SuiteImage], folder: Path, copies: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for copy in range(copies):
        for image in images:
            paths.append(folder / f"{image.name}-{copy}.jpg")
            Image.fromarray(image.pixels).save(paths[-1], format="JPEG", quality=JPEG_QUALITY)
    return paths


def decoded(encoded: bytes | None) -> np.ndarray | None:
    """RGB uint8 pixels of an output, None when there is none or it does not decode."""
    if not encoded:
        return None
    try:
        with Image.open(io.BytesIO(encoded)) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError):
        return None


def private_copy(files: list[Path], folder: Path) -> list[Path]:
    """Hard links of ``files`` in a fresh folder: deface writes its outputs beside its inputs."""
    folder.mkdir(parents=True)
    copies = [folder / path.name for path in files]
    for source, target in zip(files, copies, strict=True):
        os.link(source, target)
    return copies


def peer_startup_s(peer: Peer, folder: Path) -> float:
    """deface's wall time on one 64x64 image (interpreter, imports, model load): the second of two runs."""
    image = folder / "startup" / "tiny.png"
    image.parent.mkdir(parents=True)
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(image)
    peer.anonymise_folder(image.parent)
    return peer.anonymise_folder(image.parent)
