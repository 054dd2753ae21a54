"""Header validation in pure Python, before any native decoder (nvImageCodec, libjpeg-turbo,
libpng, OpenJPEG, libwebp, libtiff) sees the bytes: one entry point for every format.

Native decoders trust their headers; a few hostile ones kill the process that hosts them (a JPEG
2000 tile width of 0, JPEG EXIF blocks that disagree on the orientation). Each format's module
walks its header with bounds-checked reads and refuses what is out of the standard's ranges with
``corrupt_image: <format> <what>`` (:class:`imaging.errors.CorruptImageError`, a 422 at the
gateway, INVALID_ARGUMENT in Triton). It then checks the budget: the file must be large enough to
hold the pixels its header claims, by a lower bound on compressed bytes per pixel that each format
module derives (and names) from its entropy coding, so a small file cannot make the decoder
allocate and decode a huge image.

Called once per image by :func:`imaging.validate_image.check_image`, the checks the decode,
process and transcode models (:meth:`imaging.codec.ImageDecoder.inspect`) and the gateway's
upload check make on the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from imaging.errors import CorruptImageError
from imaging.validate_bmp import validate_bmp
from imaging.validate_bytes import Header, HeaderTruncatedError
from imaging.validate_jpeg import validate_jpeg
from imaging.validate_jpeg2000 import validate_jpeg2000
from imaging.validate_png import validate_png
from imaging.validate_tiff import validate_tiff
from imaging.validate_webp import validate_webp

__all__ = ["Header", "HeaderTruncatedError", "validate_header"]

VALIDATORS: dict[str, Callable[[bytes | memoryview], Header]] = {
    "jpeg": validate_jpeg,
    "png": validate_png,
    "jp2": lambda data: validate_jpeg2000(data, "jp2"),
    "j2k": lambda data: validate_jpeg2000(data, "j2k"),
    "tiff": validate_tiff,
    "webp": validate_webp,
    "bmp": validate_bmp,
}


def validate_header(data: bytes | memoryview, fmt: str, total_size: int | None = None) -> Header | None:
    """Check the header of ``data`` (sniffed as ``fmt``) and the budget its size implies.

    ``data``: the whole file, or its first bytes when ``total_size`` (the whole file's length,
    in bytes) is larger; a header that runs past such a prefix raises HeaderTruncatedError, which
    the caller may treat as "cannot tell yet". Returns the validated :class:`Header` (None for a
    format without a validator).

    Raises CorruptImageError naming the problem: a malformed header, or a file smaller than the
    fewest bytes that can encode the size its header claims.
    """
    validator = VALIDATORS.get(fmt)
    if validator is None:
        return None
    header = validator(data)
    size = len(data) if total_size is None else total_size
    if header.min_bytes > size:
        raise CorruptImageError(
            f"{fmt} header claims {header.width}x{header.height} pixels, which need at least "
            f"{header.min_bytes} bytes ({header.bound}); the file has {size}"
        )
    return header
