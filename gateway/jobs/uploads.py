"""Checks on an image before anything is stored or sent: its size in bytes, its format sniffed from
the bytes (never the client's Content-Type), its size in pixels read from the header, and the
header itself (:func:`imaging.validate_header.validate_header`: fields a native decoder would choke
on, and a file too small for the size it claims).

These refuse decompression bombs and hostile headers at the door, so an async job is refused with
a named 4xx instead of being accepted and failing later. Triton's decode makes the same checks on
every image with the same functions (:func:`imaging.formats.image_dimensions`, ``validate_header``);
this only moves them earlier, and refuses nothing the models would accept.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import BinaryIO

from gateway.core.errors import UploadTooLargeError
from gateway.jobs.models import OptionValue
from imaging.errors import ImageError, ImageTooLargeError
from imaging.fidelity import FrameCountError, check_single_frame
from imaging.formats import image_dimensions, sniff_format
from imaging.validate_header import HeaderTruncatedError, validate_header

SNIFF_BYTES = 64
# Enough for the header of every format but TIFF, whose image directory may sit anywhere (even
# after the pixels): only TIFF is read whole here, so an upload is not held in memory twice.
HEADER_BYTES = 1 << 20
# With the `reduce` option Triton applies the pixel limit to the reduced size of these formats.
REDUCIBLE_FORMATS = frozenset({"jp2", "j2k"})


def inspect_upload(
    source: BinaryIO, max_bytes: int, max_pixels: int, options: Mapping[str, OptionValue] | None = None
) -> tuple[str, int]:
    """(format sniffed from the bytes, size) of a seekable upload, left at position 0."""
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    if size > max_bytes:
        raise UploadTooLargeError(f"the file is {size} bytes, above the limit of {max_bytes} (GATEWAY_MAX_UPLOAD_BYTES)")
    fmt = sniff_format(source.read(SNIFF_BYTES))
    source.seek(0)
    head = source.read() if fmt == "tiff" else source.read(HEADER_BYTES)
    source.seek(0)
    check_pixels(head, fmt, max_pixels, options, size)
    return fmt, size


def check_pixels(
    data: bytes, fmt: str, max_pixels: int, options: Mapping[str, OptionValue] | None = None, size: int | None = None
) -> None:
    """Refuse an image whose header announces more than ``max_pixels`` pixels (ImageTooLargeError),
    then one whose header the models' validator refuses (CorruptImageError, named), then one of
    several frames or pages (FrameCountError, 415 naming the count), as decode would.

    ``data``: the file, or its first bytes when ``size`` (the file's length) is larger. What they
    cannot tell passes, for Triton to judge: a header running past ``data``, a header the pixel
    reader cannot parse (Triton names it ``corrupt_image``), and the pixel limit of JPEG 2000 with
    ``reduce`` (it then applies to the reduced size).
    """
    _check_limit(data, fmt, max_pixels, options)
    try:
        validate_header(data, fmt, total_size=size)
    except HeaderTruncatedError:
        if size is None or len(data) >= size:
            raise
    try:
        check_single_frame(data, fmt)
    except FrameCountError:
        raise
    except ImageError:
        pass  # a frame count it cannot read from these bytes: decode reads the whole file


def _check_limit(data: bytes, fmt: str, max_pixels: int, options: Mapping[str, OptionValue] | None) -> None:
    if fmt in REDUCIBLE_FORMATS and "reduce" in (options or {}):
        return
    try:
        width, height = image_dimensions(data, fmt)
    except ImageTooLargeError:
        raise
    except ImageError:
        return
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels, above the limit of {max_pixels} (GATEWAY_MAX_PIXELS)"
        )
