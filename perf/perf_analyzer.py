"""Get and run Triton's perf_analyzer: the binary inside the tritonclient 2.41.1 wheel.

Newer tritonclient wheels no longer carry it. We extract the one file (not install the old
client) and give it libb64 and libcudart from the nvidia-pytriton wheel under their plain names.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from triton_launcher.distribution import find_distribution

logger = logging.getLogger(__name__)

WHEEL = "tritonclient==2.41.1"
MEMBER = "tritonclient-2.41.1.data/data/bin/perf_analyzer"
LIBRARIES = {"libb64.so.0d": "libb64-*.so.0d", "libcudart.so.12": "libcudart-*.so.12*"}


@dataclass(frozen=True)
class PerfAnalyzer:
    binary: Path
    library_dir: Path

    def run(self, arguments: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join([str(self.library_dir), os.environ.get("LD_LIBRARY_PATH", "")]))
        command = [str(self.binary), *arguments]
        logger.info("running %s", " ".join(command))
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)


def ensure_perf_analyzer(tools_dir: Path) -> PerfAnalyzer:
    """perf_analyzer under tools_dir, downloaded from the package registry on first use."""
    binary = tools_dir / "perf_analyzer"
    if not binary.exists():
        tools_dir.mkdir(parents=True, exist_ok=True)
        _extract(_download_wheel(), binary)
    library_dir = tools_dir / "lib"
    _link_libraries(library_dir)
    return PerfAnalyzer(binary=binary, library_dir=library_dir)


def _download_wheel() -> Path:
    target = Path(tempfile.mkdtemp(prefix="perf-analyzer-"))
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL, "-d", str(target)]
    subprocess.run(command, check=True)
    return next(target.glob("tritonclient-*.whl"))


def _extract(wheel: Path, binary: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        binary.write_bytes(archive.read(MEMBER))
    binary.chmod(0o755)


def _link_libraries(library_dir: Path) -> None:
    library_dir.mkdir(parents=True, exist_ok=True)
    shipped = find_distribution().libraries
    for plain, pattern in LIBRARIES.items():
        link = library_dir / plain
        if not link.exists():
            link.symlink_to(next(shipped.glob(pattern)))


def serialized_bytes(payload: bytes) -> str:
    """Triton's wire form of one BYTES element (4-byte little-endian length, then the bytes), base64."""
    return base64.b64encode(struct.pack("<I", len(payload)) + payload).decode()


def write_input_data(payloads: Sequence[bytes], path: Path, input_name: str = "IMAGE") -> Path:
    """perf_analyzer --input-data JSON: one entry per payload, each a [1] BYTES tensor."""
    entries = [{input_name: {"b64": serialized_bytes(payload), "shape": [1]}} for payload in payloads]
    path.write_text(json.dumps({"data": entries}))
    return path
