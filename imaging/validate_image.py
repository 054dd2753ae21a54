"""Every check made on an image's bytes before a pixel is decoded, in one place.

The decode, transcode and process models call it on every image (through
:meth:`imaging.codec.ImageDecoder.inspect`); the gateway calls it on an upload before storing it
(:mod:`gateway.jobs.uploads`), so the gateway refuses early exactly what the models refuse, with
the same error. In order:

1. the format, sniffed from the bytes (:func:`imaging.formats.sniff_format`): EmptyImageError,
   UnsupportedFormatError;
2. the size in pixels from the header against ``max_pixels`` (the reduced size for JPEG 2000
   decoded with ``reduce``): ImageTooLargeError; a TIFF whose size cannot be read because it
   stores floating point is SampleRangeError, anything else unreadable CorruptImageError;
3. the header and the bytes it needs (:func:`imaging.validate_header.validate_header`):
   CorruptImageError;
4. one frame or page (:func:`imaging.fidelity.check_single_frame`): FrameCountError.

Given only the first bytes of a file (``total_size`` larger than the data), what those bytes
cannot tell passes, for the decode to judge on the whole file: a header running past them, a
size or frame count they do not hold.
"""

from __future__ import annotations

from imaging.errors import CorruptImageError, ImageError, ImageTooLargeError
from imaging.fidelity import FrameCountError, check_single_frame, refuse_float_tiff
from imaging.formats import image_dimensions, sniff_format
from imaging.jpeg2000_header import reduced_size
from imaging.validate_header import HeaderTruncatedError, validate_header

REDUCIBLE_FORMATS = frozenset({"jp2", "j2k"})  # decoded at 1/2^reduce of their size on request


def check_image(
    data: bytes, max_pixels: int, reduce: int | None = 0, total_size: int | None = None, limit_name: str = ""
) -> str:
    """The format sniffed from ``data`` once every check above passed.

    ``data``: the whole file, or its first bytes when ``total_size`` (the file's length in bytes)
    is larger. ``max_pixels``: the most pixels (width x height) the header may announce.
    ``reduce``: JPEG 2000 resolution halvings the decode will make (the limit then applies to the
    reduced size); None when the caller cannot tell them, so JPEG 2000's limit passes.
    ``limit_name``: the setting behind ``max_pixels``, named in the ImageTooLargeError's message.

    Raises the ImageError subclass that names the problem (see the module's docstring).
    """
    fmt = sniff_format(data)
    partial = total_size is not None and total_size > len(data)
    size = _pixel_size(data, fmt, partial)
    if size is not None and not (fmt in REDUCIBLE_FORMATS and reduce is None):
        width, height = reduced_size(*size, reduce) if reduce and fmt in REDUCIBLE_FORMATS else size
        if width * height > max_pixels:
            error = ImageTooLargeError.for_size(width, height, max_pixels)
            raise ImageTooLargeError(f"{error} ({limit_name})") if limit_name else error
    try:
        validate_header(data, fmt, total_size=total_size)
    except HeaderTruncatedError:
        if not partial:
            raise
    _check_frames(data, fmt, partial)
    return fmt


def _pixel_size(data: bytes, fmt: str, partial: bool) -> tuple[int, int] | None:
    """(width, height) from the header; None when the first bytes of a file do not hold it."""
    try:
        return image_dimensions(data, fmt)
    except ImageTooLargeError:
        raise
    except CorruptImageError:
        if partial:
            return None
        if fmt == "tiff":
            refuse_float_tiff(data)  # a float layout Pillow cannot open is named, not "corrupt"
        raise


def _check_frames(data: bytes, fmt: str, partial: bool) -> None:
    try:
        check_single_frame(data, fmt)
    except FrameCountError:
        raise
    except ImageError:
        if not partial:
            raise
