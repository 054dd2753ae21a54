"""`python -m triton_launcher models`: usage, rendering and errors without a server (the server tier
is in test_control.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from triton_launcher.__main__ import main as launcher_main
from triton_launcher.control import ModelStatus, SwapResult, VersionState
from triton_launcher.models_cli import build_parser, render
from triton_launcher.server import free_port


def test_models_subcommand_reports_an_unreachable_server(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = launcher_main(["models", "--url", f"127.0.0.1:{free_port()}", "--repository", str(tmp_path), "list"])
    captured = capsys.readouterr()
    assert status == 1 and captured.out == ""
    assert captured.err.startswith("error: Triton at 127.0.0.1:") and "did not answer" in captured.err


def test_bad_usage_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["swap", "newest"])
    assert exit_info.value.code == 2


def test_commands_and_defaults() -> None:
    args = build_parser().parse_args(["swap", "3", "--model", "faces"])
    assert (args.command, args.version, args.model) == ("swap", 3, "faces")
    args = build_parser().parse_args(["rollback"])
    assert (args.command, args.model) == ("rollback", None)
    assert build_parser().parse_args(["swap"]).version is None


def test_rendering_of_a_status_and_a_swap() -> None:
    status = ModelStatus(
        "detect",
        [VersionState(2, "READY"), VersionState(3, "UNAVAILABLE", "Internal: INVALID_PROTOBUF\n  at ...")],
        on_disk=[1, 2, 3],
        fixed=[2],
        history=[1, 2],
        pinned={1: ["detect.v1", "pipeline.detect.v1"]},
    )
    assert render(status).splitlines() == [
        "detect: ready [2]; on disk [1, 2, 3]; fixed [2]; history 1 -> 2; pinned 1 as detect.v1, pipeline.detect.v1",
        "  version 2  READY",
        "  version 3  UNAVAILABLE  Internal: INVALID_PROTOBUF",
    ]
    assert render(SwapResult("detect", [1], 2, 3.31)) == "detect: serving version 2 (was [1]) after 3.3 s"
