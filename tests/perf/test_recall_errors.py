"""The recall harness refuses clearly when there is nothing to measure (no server, no peer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf.errors import ConfigError, MeasurementError
from perf.recall import RecallConfig, main, run_recall
from perf.recall_suite import PLATES
from triton_launcher.server import free_port


def test_no_triton_at_the_url_is_a_named_error(tmp_path: Path) -> None:
    url = f"127.0.0.1:{free_port()}"
    config = RecallConfig(groups=(PLATES,), copies=0, peer_venv=None, triton_url=url, work_dir=tmp_path / "work")
    with pytest.raises(MeasurementError, match=f"pipeline at {url} did not answer"):
        run_recall(config, "python -m perf.recall")
    assert not any((tmp_path / "work").iterdir())


def test_an_absent_peer_venv_names_the_setup_command(tmp_path: Path) -> None:
    config = RecallConfig(groups=(PLATES,), copies=0, peer_venv=tmp_path / "none", triton_url="127.0.0.1:1",
                          work_dir=tmp_path / "work")
    with pytest.raises(ConfigError, match="python -m perf.peer setup"):
        run_recall(config, "python -m perf.recall")


def test_bad_options_exit_1(tmp_path: Path) -> None:
    assert main(["--groups", "faces-of-mars", "--out", str(tmp_path)]) == 1
    assert main(["--concurrency", "0", "--no-peer", "--out", str(tmp_path)]) == 1
    assert main(["--variant", "thorough", "--no-peer", "--out", str(tmp_path)]) == 1
