"""triton_launcher.layout (one variable for the repository, its old name an alias) and
triton_launcher.files.write_atomic."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from triton_launcher.config import ControlSettings, ServerConfig
from triton_launcher.files import write_atomic
from triton_launcher.layout import DEFAULT_REPOSITORY, resolve_repository, version_numbers


def test_one_repository_variable_and_its_old_name(tmp_path: Path) -> None:
    assert resolve_repository(environ={}) == DEFAULT_REPOSITORY == ServerConfig.from_env({}).model_repository
    old = {"MODEL_REPOSITORY": str(tmp_path / "old")}
    assert resolve_repository(environ=old) == tmp_path / "old" == ServerConfig.from_env(old).model_repository
    both = {**old, "TRITON_MODEL_REPOSITORY": str(tmp_path / "new")}
    assert resolve_repository(environ=both) == tmp_path / "new" == ControlSettings.from_env(both).model_repository
    assert ServerConfig.from_env(both, model_repository=tmp_path / "explicit").model_repository == tmp_path / "explicit"
    assert resolve_repository(tmp_path / "explicit", environ=both) == tmp_path / "explicit"


def test_version_numbers_are_numeric_folders_only(tmp_path: Path) -> None:
    for name in ("3", "1", "latest", ".staging-abc", "configs"):
        (tmp_path / name).mkdir()
    (tmp_path / "2").write_text("a file, not a version")
    assert version_numbers(tmp_path) == [1, 3] and version_numbers(tmp_path / "missing") == []


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config.pbtxt"
    assert write_atomic(path, "first") == 5 and path.read_text() == "first"
    assert write_atomic(path, b"\x00second") == 7 and path.read_bytes() == b"\x00second"
    assert write_atomic(path, io.BytesIO(b"x" * 3_000_000)) == 3_000_000
    assert os.listdir(path.parent) == ["config.pbtxt"]


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "history.json"
    write_atomic(path, "old")

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        write_atomic(path, io.BufferedReader(Broken()))
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["history.json"]
