"""Get and run Triton's perf_analyzer: the binary inside the tritonclient 2.41.1 wheel.

Newer tritonclient wheels no longer carry it. We extract the one file (not install the old
client) and give it libb64 and libcudart from the nvidia-pytriton wheel under their plain names.
"""

from __future__ import annotations

import base64
import csv
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

from contracts.tensors import IMAGE
from perf.errors import MeasurementError
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


def write_input_data(payloads: Sequence[bytes], path: Path, input_name: str = IMAGE) -> Path:
    """perf_analyzer --input-data JSON: one entry per payload, each a [1] BYTES tensor."""
    entries = [{input_name: {"b64": serialized_bytes(payload), "shape": [1]}} for payload in payloads]
    path.write_text(json.dumps({"data": entries}))
    return path


@dataclass(frozen=True)
class PerfAnalyzerRow:
    """One concurrency level of perf_analyzer's CSV (-f): throughput, client latencies, server split."""

    concurrency: int
    throughput: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    avg_ms: float
    client_send_ms: float
    network_ms: float  # "Network+Server Send/Recv"
    server_queue_ms: float
    server_input_ms: float
    server_infer_ms: float
    server_output_ms: float
    client_recv_ms: float

    @classmethod
    def from_csv(cls, row: dict[str, str]) -> PerfAnalyzerRow:
        def ms(column: str) -> float:
            return float(row.get(column) or 0) / 1000

        return cls(
            concurrency=int(row["Concurrency"]),
            throughput=float(row["Inferences/Second"]),
            p50_ms=ms("p50 latency"),
            p90_ms=ms("p90 latency"),
            p99_ms=ms("p99 latency"),
            avg_ms=ms("Avg latency"),
            client_send_ms=ms("Client Send"),
            network_ms=ms("Network+Server Send/Recv"),
            server_queue_ms=ms("Server Queue"),
            server_input_ms=ms("Server Compute Input"),
            server_infer_ms=ms("Server Compute Infer"),
            server_output_ms=ms("Server Compute Output"),
            client_recv_ms=ms("Client Recv"),
        )


def read_rows(csv_path: Path) -> list[PerfAnalyzerRow]:
    """The result rows of a perf_analyzer CSV (the lines after the table are not rows)."""
    with open(csv_path, newline="") as handle:
        lines = [line for line in handle if line.strip()]
    rows = csv.DictReader(lines)
    return [PerfAnalyzerRow.from_csv(row) for row in rows if (row.get("Concurrency") or "").isdigit()]


def concurrency_arguments(
    model: str, url: str, input_data: Path, shapes: Sequence[str], concurrency: int, interval_ms: int, csv_path: Path
) -> list[str]:
    """One gRPC run at a fixed concurrency: three windows of ``interval_ms``, averaged.

    A stability bound of 999 % accepts the first three windows that all saw answers: on a shared
    machine the default 10 % seldom converges, and the time budget, not convergence, decides the
    run length. Up to three more windows are allowed when one saw no answer at all.
    """
    return [
        "-m", model, "-i", "grpc", "-u", url, "--input-data", str(input_data), *shapes,
        "--concurrency-range", str(concurrency), "--measurement-interval", str(interval_ms),
        "--stability-percentage", "999", "--max-trials", "6", "-f", str(csv_path), "--verbose-csv",
    ]


def measure(analyzer: PerfAnalyzer, arguments: Sequence[str], csv_path: Path, timeout_s: float) -> PerfAnalyzerRow:
    """Run perf_analyzer once; the CSV's single row, or MeasurementError with its output."""
    try:
        completed = analyzer.run(arguments, timeout_s)
    except subprocess.TimeoutExpired:
        raise MeasurementError(f"perf_analyzer ran past {timeout_s:.0f} s: {' '.join(arguments)}") from None
    rows = read_rows(csv_path) if csv_path.exists() else []
    if completed.returncode != 0 or not rows:
        raise MeasurementError(f"perf_analyzer exited {completed.returncode}: {_reason(completed.stdout + completed.stderr)}")
    return rows[0]


def _reason(output: str) -> str:
    """The lines of perf_analyzer's output that say what went wrong (else its last lines)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    failures = [line for line in lines if any(word in line.lower() for word in ("fail", "error", "invalid", "unable"))]
    return " / ".join((failures or lines[-3:])[:4])[:600]
