"""Copies of the real model repository for tests that change what Triton serves."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
ENSEMBLE = "pipeline"
_SKIP = shutil.ignore_patterns("__pycache__", ".staging-*", "configs")


def ensemble_models(repository: Path = REPOSITORY, ensemble: str = ENSEMBLE) -> list[str]:
    """The ensemble and the models its steps call: what a copy needs to serve it."""
    config = text_format.Parse((repository / ensemble / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    return [ensemble, *dict.fromkeys(step.model_name for step in config.ensemble_scheduling.step)]


def copy_repository(target: Path, models: list[str] | None = None) -> Path:
    """Copy `models` (default: the pipeline's) with their version folders; links stay links."""
    for model in models or ensemble_models():
        shutil.copytree(REPOSITORY / model, target / model, symlinks=True, ignore=_SKIP)
    return target


def copy_version(repository: Path, model: str, source: int) -> Callable[[Path], None]:
    """A `build` step for export.publish.publish_version that copies an existing version's files."""

    def build(version_dir: Path) -> None:
        for entry in (repository / model / str(source)).iterdir():
            if entry.is_symlink():
                (version_dir / entry.name).symlink_to(entry.readlink())
            elif entry.is_file():
                shutil.copy2(entry, version_dir / entry.name)

    return build


def write_broken_version(repository: Path, model: str, source: int) -> int:
    """A new version folder whose model.onnx is not ONNX (what a truncated upload looks like)."""
    version = max(int(entry.name) for entry in (repository / model).iterdir() if entry.name.isdigit()) + 1
    folder = repository / model / str(version)
    folder.mkdir()
    copy_version(repository, model, source)(folder)
    (folder / "model.onnx").write_bytes(b"this is not an ONNX graph\n" * 64)
    return version
