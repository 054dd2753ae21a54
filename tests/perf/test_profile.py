"""py-spy's collapsed stacks summarised per function; stubs are found only under our own server."""

from __future__ import annotations

from pathlib import Path

from perf.profile import NO_PYTHON_FRAME, RATE_HZ, stub_processes, summarise

RAW = """execute (model.py:37);detect (detectors.py:77);run (onnxruntime.py:383) 90
execute (model.py:37);detect (detectors.py:77);letterbox_batch (letterbox.py:74) 8
 2
"""


def test_self_and_inclusive_samples(tmp_path: Path) -> None:
    raw = tmp_path / "detect.txt"
    raw.write_text(RAW)
    profile = summarise("detect", raw, duration_s=2.0)
    assert profile.samples == 100
    assert profile.self_top[0] == ("run (onnxruntime.py:383)", 90)
    assert dict(profile.self_top)[NO_PYTHON_FRAME] == 2
    assert dict(profile.inclusive_top)["detect (detectors.py:77)"] == 98
    assert profile.busy == 100 / (RATE_HZ * 2.0)


def test_no_server_on_the_port_means_no_stubs() -> None:
    assert stub_processes(1) == {}
