"""Publish model versions into a Triton model repository without readers ever seeing half a version.

A version is built in a hidden staging folder inside the model folder (`.staging-<hex>`; Triton
ignores folders whose names are not numbers), smoke-tested there, then renamed to the next
version number. A rename within one filesystem is atomic, so Triton (or anyone listing the
folder) sees either no version N or a complete, validated one. On any failure the staging
folder is removed and no version folder appears.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from export.errors import PublishError
from triton_launcher.layout import ADAPTER_FILE, STAGING_PREFIX, version_numbers

logger = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
_PROMOTE_ATTEMPTS = 5

VersionStep = Callable[[Path], None]
"""Builds into, or validates, a version folder given as its argument."""


def next_version(model_dir: Path) -> int:
    """One more than the highest numeric subfolder of `model_dir`, or 1 if there is none."""
    return max(version_numbers(model_dir), default=0) + 1


def has_published_model(model_dir: Path) -> bool:
    """Whether any version folder of `model_dir` holds a model file."""
    return any((model_dir / str(number) / MODEL_FILE).is_file() for number in version_numbers(model_dir))


def publish_version(model_dir: Path, build: VersionStep, validate: VersionStep) -> Path:
    """Build and validate a new version in staging, then move it to `model_dir/<next>`; return that path.

    Errors raised by `build` or `validate` propagate unchanged (they should be `ExportError`s);
    file-system failures become `PublishError`. Either way the staging folder is removed.
    """
    staging = _make_staging(model_dir)
    try:
        build(staging)
        validate(staging)
        _sync_files(staging)
        version_dir = _promote(staging, model_dir)
    except OSError as error:
        raise PublishError(f"publishing a version of {model_dir} failed: {error}") from error
    finally:
        _remove_staging(staging)
    logger.info("published %s", version_dir)
    return version_dir


def _make_staging(model_dir: Path) -> Path:
    staging = model_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        staging.mkdir(parents=True)
    except OSError as error:
        raise PublishError(f"cannot create a staging folder in {model_dir}: {error}") from error
    return staging


def _promote(staging: Path, model_dir: Path) -> Path:
    """Rename `staging` to the next free version number, retrying if another publisher took it."""
    for _ in range(_PROMOTE_ATTEMPTS):
        target = model_dir / str(next_version(model_dir))
        if target.exists():
            continue
        try:
            staging.rename(target)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            logger.info("version %s was taken concurrently; retrying", target.name)
            continue
        return target
    raise PublishError(f"no free version number in {model_dir} after {_PROMOTE_ATTEMPTS} attempts")


def _sync_files(folder: Path) -> None:
    """Flush the built files to disk so a crash after the rename cannot leave them truncated."""
    for path in folder.iterdir():
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _remove_staging(staging: Path) -> None:
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)
        logger.info("removed staging folder %s", staging)


def link_adapter(version_dir: Path) -> None:
    """Point `version_dir/model.py` at the Triton adapter shared by every version of the model
    (Triton's Python backend loads <version>/model.py).

    A relative link, so the repository can be moved or mounted into a container as a whole.
    """
    (version_dir / ADAPTER_FILE).symlink_to(Path("..") / ADAPTER_FILE)
