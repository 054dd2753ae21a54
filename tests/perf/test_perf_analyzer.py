"""Reading perf_analyzer's CSV and building its command line (the binary itself runs in the smoke test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf.errors import MeasurementError
from perf.perf_analyzer import PerfAnalyzer, concurrency_arguments, measure, read_rows

CSV = """Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,response wait
2,4.2474,10,0,1,3432,653309,3238,3,402534,685962,715743,721205,450803,13,450765
"""


def test_a_row_in_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text(CSV + "\n")
    [row] = read_rows(path)
    assert row.concurrency == 2 and row.throughput == pytest.approx(4.2474)
    assert row.p50_ms == pytest.approx(402.534) and row.p99_ms == pytest.approx(721.205)
    assert row.server_infer_ms == pytest.approx(653.309)


def test_arguments_name_the_level_window_and_csv(tmp_path: Path) -> None:
    arguments = concurrency_arguments("detect", "127.0.0.1:1", tmp_path / "in.json", ["--shape=x:2"], 4, 1500, tmp_path / "o.csv")
    joined = " ".join(arguments)
    assert "-m detect" in joined and "-i grpc" in joined and "--shape=x:2" in joined
    assert "--concurrency-range 4" in joined and "--measurement-interval 1500" in joined
    assert f"-f {tmp_path / 'o.csv'}" in joined


def test_a_failed_run_says_why(tmp_path: Path) -> None:
    script = tmp_path / "fake_perf_analyzer"
    script.write_text("#!/bin/sh\necho 'Failed to obtain stable measurement.'\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(MeasurementError, match="exited 3: Failed to obtain stable measurement"):
        measure(PerfAnalyzer(script, tmp_path), ["-m", "x"], tmp_path / "missing.csv", timeout_s=30)
