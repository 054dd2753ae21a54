"""The one atomic file write: readers see the old content or all of the new, never a part."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 20


def write_atomic(path: Path, data: bytes | str | BinaryIO) -> int:
    """Write ``data`` (bytes, text as UTF-8, or a binary stream copied in chunks) to ``path``: a
    temporary file beside it, fsynced, renamed over ``path``, then the folder fsynced. Creates the
    parent folders; removes the temporary file on any failure. Returns the bytes written; raises OSError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as target:
            if isinstance(data, str):
                target.write(data.encode())
            elif isinstance(data, bytes):
                target.write(data)
            else:
                shutil.copyfileobj(data, target, CHUNK_BYTES)
            target.flush()
            os.fsync(target.fileno())
            written = target.tell()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return written


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (a folder's entries are data too)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
