"""Embedded ICC profiles: pixels in another RGB space are converted to sRGB (LittleCMS via Pillow).

nvImageCodec and the output encoders ignore ICC profiles, so a Display P3 photo would leave the
service with its P3 numbers read as sRGB: visibly desaturated. The pipeline therefore converts
RGB pixels whose profile is not sRGB to sRGB (perceptual intent) and records it in METADATA's
``color``: ``{"icc": "Display P3", "converted_to": "sRGB"}``. An sRGB profile is left as it is
(``converted_to`` null); a profile that is unreadable or not an RGB profile is recorded and the
pixels kept (``converted_to`` null, ``note`` says why). Profiles come from Pillow's header read
(JPEG APP2, PNG iCCP, WebP ICCP, TIFF tag 34675) or, for JP2, the ``colr`` box.
"""

from __future__ import annotations

import functools
import io
import logging
import struct
from typing import Any

import numpy as np
from PIL import Image, ImageCms

logger = logging.getLogger(__name__)

SRGB = "sRGB"


def embedded_profile(image: Image.Image) -> bytes | None:
    """The ICC profile a Pillow image (opened, not necessarily loaded) carries, or None."""
    profile = image.info.get("icc_profile")
    return bytes(profile) if profile else None


def jp2_icc_profile(data: bytes) -> bytes | None:
    """The ICC profile of a JP2 file's colour specification box (jp2h/colr, METH 2 or 3), or None.

    Pillow does not read it; boxes are walked within ``data`` (a damaged walk gives None).
    """
    header = _box(memoryview(data), b"jp2h")
    colour = _box(header, b"colr") if header is not None else None
    if colour is None or len(colour) < 4 or colour[0] not in (2, 3):
        return None
    return bytes(colour[3:]) or None


def _box(view: memoryview, kind: bytes) -> memoryview | None:
    """The contents of the first box of type ``kind`` among the boxes that make up ``view``."""
    offset = 0
    while offset + 8 <= len(view):
        length, found = struct.unpack(">I4s", view[offset : offset + 8])
        header = 8
        if length == 1 and offset + 16 <= len(view):
            (length,) = struct.unpack(">Q", view[offset + 8 : offset + 16])
            header = 16
        elif length == 0:
            length = len(view) - offset
        if length < header or offset + length > len(view):
            return None
        if found == kind:
            return view[offset + header : offset + length]
        offset += length
    return None


def to_srgb(pixels: np.ndarray, profile: bytes) -> tuple[np.ndarray, dict[str, Any]]:
    """(HxWx3 uint8 sRGB pixels, METADATA ``color`` record) for HxWx3 uint8 RGB ``pixels`` in ``profile``."""
    try:
        name, transform = _transform(profile)
    except (OSError, ValueError, ImageCms.PyCMSError) as exc:
        logger.info("unreadable ICC profile kept unconverted: %s", exc)
        return pixels, {"icc": "unreadable", "converted_to": None, "note": "profile could not be parsed"}
    if transform is None:
        note = {} if SRGB.lower() in name.lower() else {"note": "not an RGB profile"}
        return pixels, {"icc": name, "converted_to": None, **note}
    converted = ImageCms.applyTransform(Image.fromarray(pixels, "RGB"), transform)
    return np.ascontiguousarray(np.asarray(converted)), {"icc": name, "converted_to": SRGB}


@functools.lru_cache(maxsize=32)
def _transform(profile: bytes) -> tuple[str, ImageCms.ImageCmsTransform | None]:
    """(profile description, transform to sRGB or None when none is needed); cached per profile."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    name = (ImageCms.getProfileDescription(source) or "unnamed").strip()
    if SRGB.lower() in name.lower() or source.profile.xcolor_space.strip() != "RGB":
        return name, None
    srgb = ImageCms.createProfile("sRGB")
    intent = ImageCms.Intent.PERCEPTUAL
    return name, ImageCms.buildTransform(source, srgb, "RGB", "RGB", renderingIntent=intent)


def native_to_srgb(pixels: np.ndarray, profile: bytes) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`to_srgb` for HxWxC native pixels: 8-bit RGB and RGBA are converted (alpha kept);
    other depths and gray are kept in their profile, and the record says so."""
    if pixels.dtype == np.uint8 and pixels.shape[2] in (3, 4):
        rgb, color = to_srgb(np.ascontiguousarray(pixels[:, :, :3]), profile)
        return np.ascontiguousarray(np.dstack([rgb, pixels[:, :, 3:]])), color
    try:
        name = _transform(profile)[0]
    except (OSError, ValueError, ImageCms.PyCMSError):
        name = "unreadable"
    return pixels, {"icc": name, "converted_to": None, "note": f"{8 * pixels.itemsize}-bit {pixels.shape[2]}-channel pixels kept as stored"}
