"""Checks on an image before anything is stored or sent: its size in bytes, then the models' own
checks (:func:`imaging.validate_image.check_image`: format sniffed from the bytes, never the
client's Content-Type; pixels announced by the header against GATEWAY_MAX_PIXELS; the header;
one frame or page).

These refuse decompression bombs and hostile headers at the door, so an async job is refused with
a named 4xx instead of being accepted and failing later. Triton's decode makes the same checks on
every image through the same function; this only moves them earlier, and refuses nothing the
models would accept: given a file's first bytes only, what they cannot tell is left to Triton.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import BinaryIO

from contracts import parameters as names
from gateway.core.errors import UploadTooLargeError
from gateway.jobs.models import OptionValue
from imaging.errors import InvalidOptionError
from imaging.formats import sniff_format
from imaging.options import parse_reduce
from imaging.validate_image import check_image

# Enough for the header of every format but TIFF, whose image directory may sit anywhere (even
# after the pixels): only TIFF is read whole here, so an upload is not held in memory twice.
HEADER_BYTES = 1 << 20
LIMIT_NAME = "GATEWAY_MAX_PIXELS"


def inspect_upload(
    source: BinaryIO, max_bytes: int, max_pixels: int, options: Mapping[str, OptionValue] | None = None
) -> tuple[str, int]:
    """(format sniffed from the bytes, size in bytes) of a seekable upload, left at position 0.

    Raises UploadTooLargeError above ``max_bytes``, else what :func:`inspect_image` raises.
    """
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    if size > max_bytes:
        raise UploadTooLargeError(f"the file is {size} bytes, above the limit of {max_bytes} (GATEWAY_MAX_UPLOAD_BYTES)")
    head = source.read(HEADER_BYTES)
    if head and sniff_format(head) == "tiff":
        head += source.read()
    source.seek(0)
    return inspect_image(head, max_pixels, options, size), size


def inspect_image(
    data: bytes, max_pixels: int, options: Mapping[str, OptionValue] | None = None, size: int | None = None
) -> str:
    """The format sniffed from ``data`` once the models' checks passed
    (:func:`imaging.validate_image.check_image`, the pixel limit named GATEWAY_MAX_PIXELS).

    ``data``: the file, or its first bytes when ``size`` (the file's length) is larger.
    ``options``: the job's request parameters; a valid `reduce` puts JPEG 2000's limit on the
    reduced size, as transcode does, and one transcode would refuse leaves that limit to Triton.
    Raises the ImageError subclass naming the problem (EmptyImageError, UnsupportedFormatError,
    ImageTooLargeError, CorruptImageError).
    """
    return check_image(data, max_pixels, _reduce(options or {}), total_size=size, limit_name=LIMIT_NAME)


def _reduce(options: Mapping[str, OptionValue]) -> int | None:
    if names.REDUCE not in options:
        return 0
    try:
        return parse_reduce(options)
    except InvalidOptionError:
        return None
