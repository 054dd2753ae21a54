"""export.repository: where models are published, and `ensure` publishing only what is missing."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import export
from export.repository import ensure_models, resolve_repository


def test_repository_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """export finds the repository as the launcher does (triton_launcher.layout, tests/triton/test_layout.py)."""
    monkeypatch.delenv("TRITON_MODEL_REPOSITORY", raising=False)
    monkeypatch.delenv("MODEL_REPOSITORY", raising=False)
    assert resolve_repository() == Path(export.__file__).resolve().parent.parent / "model_repository"
    monkeypatch.setenv("MODEL_REPOSITORY", str(tmp_path / "old-name"))
    assert resolve_repository() == tmp_path / "old-name"
    monkeypatch.setenv("TRITON_MODEL_REPOSITORY", str(tmp_path / "from-env"))
    assert resolve_repository() == tmp_path / "from-env"
    assert resolve_repository(tmp_path / "explicit") == tmp_path / "explicit"


def test_ensure_publishes_only_what_is_missing_and_is_idempotent(tmp_path: Path, detector_dir: Path, plates_dir: Path) -> None:
    shutil.copytree(detector_dir, tmp_path / "detect" / "1")
    shutil.copytree(plates_dir, tmp_path / "plates" / "1")
    (tmp_path / "faces" / "1").mkdir(parents=True)  # a version folder without a model does not count
    assert ensure_models(tmp_path) == {"faces": tmp_path / "faces" / "2"}
    before = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*"))
    started = time.perf_counter()
    assert ensure_models(tmp_path) == {}
    assert time.perf_counter() - started < 1.0
    assert sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*")) == before
