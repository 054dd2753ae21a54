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


def ycc420_jpeg2000(pixels: np.ndarray, suffix: str = ".jp2") -> tuple[bytes, np.ndarray]:
    """(file, its exact RGB) for even-sized HxWx3 ``pixels`` stored as full-range YCbCr 4:2:0:
    Y at full resolution, Cb and Cr at half (XRsiz = YRsiz = 2), losslessly, colour space sYCC.

    The RGB is what a faithful decoder shows: chroma repeated 2x2, BT.601 back to RGB.
    """
    opj2 = glymur_with_openjpeg().lib.openjp2
    height, width = pixels.shape[:2]
    rgb = pixels.astype(np.float64)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    blue = 128 + (rgb[..., 2] - luma) / 1.772
    red = 128 + (rgb[..., 0] - luma) / 1.402
    half = [plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)) for plane in (blue, red)]
    planes = [np.clip(np.rint(plane), 0, 255).astype(np.int32) for plane in (luma, *half)]
    parameters = (opj2.ImageComptParmType * 3)()
    for parameter, plane in zip(parameters, planes, strict=True):
        parameter.dx = parameter.dy = height // plane.shape[0]
        parameter.h, parameter.w = plane.shape
        parameter.prec = parameter.bpp = 8
    image = opj2.image_create(parameters, opj2.CLRSPC_YCC)
    image.contents.x1, image.contents.y1 = width, height
    for index, plane in enumerate(planes):
        ctypes.memmove(image.contents.comps[index].data, np.ascontiguousarray(plane).ctypes.data, plane.nbytes)
    settings = opj2.set_default_encoder_parameters()
    settings.tcp_numlayers, settings.cp_disto_alloc = 1, 1
    settings.tcp_rates[0] = 0  # lossless
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"ycc420{suffix}"
        codec = opj2.create_compress(opj2.CODEC_JP2 if suffix == ".jp2" else opj2.CODEC_J2K)
        opj2.setup_encoder(codec, settings, image)
        stream = opj2.stream_create_default_file_stream(str(path), False)
        try:
            opj2.start_compress(codec, image, stream)
            opj2.encode(codec, stream)
            opj2.end_compress(codec, stream)
        finally:
            opj2.stream_destroy(stream)
            opj2.destroy_codec(codec)
            opj2.image_destroy(image)
        data = path.read_bytes()
    full = [planes[0].astype(np.float64)] + [np.repeat(np.repeat(plane, 2, 0), 2, 1) - 128.0 for plane in planes[1:]]
    y, cb, cr = full
    expected = np.stack([y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb], axis=2)
    return data, np.clip(np.rint(expected), 0, 255).astype(np.uint8)
