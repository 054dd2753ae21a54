"""Exit code 2 for what is wrong with the command line, before anything is sent; 1 when no gateway answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonymise.cli import build_parser, main, submission_of
from anonymise.state import options_fingerprint
from tests.gateway.conftest import free_port


def photo(tmp_path: Path, name: str = "a.jpg") -> str:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff")
    return str(path)


@pytest.mark.parametrize("extra", [["--quality", "0"], ["--face-threshold", "0"], ["--blur", "bilateral"], ["--concurrency", "0"],
                                   ["--url", "127.0.0.1:8080"], ["--url", "ftp://127.0.0.1"], ["--url", "http://"]])
def test_bad_option_values_exit_2(tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([photo(tmp_path), "-o", str(tmp_path / "out"), *extra])
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


def test_a_missing_path_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nothing.jpg"), "-o", str(tmp_path / "out")]) == 2
    assert "nothing.jpg" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_clashing_outputs_and_an_output_that_is_a_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(photo(tmp_path, "a.jpg")).parent
    photo(tmp_path, "a.png")
    photo(tmp_path, "a.jpg.png")
    assert main([str(folder), "-o", str(tmp_path / "out"), "--format", "png"]) == 2
    assert "would both be written as a.jpg.png" in capsys.readouterr().err
    (tmp_path / "file").write_bytes(b"")
    assert main([str(folder), "-o", str(tmp_path / "file")]) == 2
    assert "must be a folder" in capsys.readouterr().err


def test_writing_results_over_their_sources_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = Path(photo(tmp_path)).parent
    assert main([str(folder), "-o", str(folder)]) == 2
    assert "would be overwritten by its result" in capsys.readouterr().err
    assert (folder / "a.jpg").read_bytes() == b"\xff\xd8\xff"


def test_no_gateway_exits_1_naming_the_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main([photo(tmp_path), "-o", str(tmp_path / "out"), "--url", url, "--no-progress"]) == 1
    output = capsys.readouterr().out
    assert f"stopped: no answer from the gateway at {url}" in output
    assert "1 files: 0 succeeded (0 processed, 0 already done), 0 failed, 1 not attempted" in output


def test_options_mirror_the_api() -> None:
    args = build_parser().parse_args([
        "x", "-o", "y", "--format", "webp", "--quality", "80", "--blur", "pixelate", "--blur-strength", "2",
        "--blur-classes", "person", "--face-threshold", "0.4", "--plate-threshold", "0.3", "--no-blur-uncertain",
        "--verify", "--thorough", "--lossless", "--priority", "low",
    ])
    submission = submission_of(args)
    assert (submission.priority, submission.format) == ("low", "webp")
    assert submission.options == {
        "quality": 80, "blur_kind": "pixelate", "blur_strength": 2.0, "blur_classes": "person", "face_threshold": 0.4,
        "plate_threshold": 0.3, "lossless": True, "verify": True, "thorough": True, "blur_uncertain": False,
    }
    assert submission.form() == {"priority": "low", "format": "webp", "options": json.dumps(submission.options)}
    assert submission_of(build_parser().parse_args(["x", "-o", "y"])).options == {}


def test_the_priority_does_not_change_what_counts_as_done() -> None:
    def fingerprint(*extra: str) -> str:
        return options_fingerprint(submission_of(build_parser().parse_args(["x", "-o", "y", *extra])).fingerprinted())

    assert fingerprint("--priority", "high") == fingerprint()
    assert fingerprint("--blur", "box") != fingerprint()
