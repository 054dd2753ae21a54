"""JPEG 2000 files with subsampled components, written by glymur (the issue's reproduction).

glymur finds libopenjp2 through ctypes or a glymurrc file; neither sees the copy Pillow's wheel
bundles, so its OpenJPEG bindings are reloaded here with the library the service itself loads
(:func:`imaging.openjpeg.library_path`). Writing is glymur's; the service never imports glymur.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np

from imaging.openjpeg import library_path


@functools.cache
def glymur_with_openjpeg() -> ModuleType:
    """The glymur module, its OpenJPEG bindings bound to the service's libopenjp2."""
    import glymur
    import glymur.config
    import glymur.lib.openjp2
    import glymur.version

    path = library_path()
    if path is None:
        raise RuntimeError("no libopenjp2 to write subsampled JPEG 2000 with")
    library = ctypes.CDLL(path)  # a handle of its own: glymur sets its own function signatures
    if glymur.lib.openjp2.OPENJP2 is None:
        original = glymur.config.glymur_config
        glymur.config.glymur_config = lambda name: library if name == "openjp2" else original(name)
        importlib.reload(glymur.lib.openjp2)  # struct layouts depend on the library's version
        glymur.config.glymur_config = original
        glymur.version.openjpeg_version = glymur.lib.openjp2.version()
    return glymur


def subsampled_jpeg2000(pixels: np.ndarray, suffix: str = ".jp2", subsam: tuple[int, int] = (2, 2)) -> bytes:
    """``pixels`` (HxWxC uint8) written as .jp2 or .j2k with every component subsampled by ``subsam``
    (the reference grid is then about ``subsam`` times the picture)."""
    glymur = glymur_with_openjpeg()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"subsampled{suffix}"
        glymur.Jp2k(str(path), data=pixels, subsam=subsam)
        return path.read_bytes()


def glymur_decode(data: bytes, suffix: str = ".jp2") -> np.ndarray:
    """glymur's own decode of ``data`` (the reference a faithful decoder must match)."""
    glymur = glymur_with_openjpeg()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"image{suffix}"
        path.write_bytes(data)
        return np.asarray(glymur.Jp2k(str(path))[:])
