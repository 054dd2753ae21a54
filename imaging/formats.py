"""Format detection from magic bytes, header-only dimensions and output-format choices.

Pillow is used for headers through its plugin classes directly, not ``Image.open``: that skips
Pillow's global decompression-bomb check (the pixel limit is ours, see
:class:`imaging.codec.ImageDecoder`) and any third-party patch of ``Image.open``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import string
import struct
from collections.abc import Iterator

from PIL import (
    BmpImagePlugin,
    Image,
    ImageFile,
    Jpeg2KImagePlugin,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageTooLargeError,
    UnsupportedFormatError,
)

logger = logging.getLogger(__name__)

OUTPUT_FORMATS: frozenset[str] = frozenset({"jpeg", "png", "jp2", "j2k", "webp", "tiff"})

CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "jp2": "image/jp2",  # RFC 3745
    "j2k": "image/j2c",  # IANA, 2023: a bare JPEG 2000 codestream
    "webp": "image/webp",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
}

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"),
    (b"\xff\x4f\xff\x51", "j2k"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"BM", "bmp"),
)

# Recognised but unsupported, so the error can say what was sent.
_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\x00\x00\x01\x00", "a Windows icon"),
    (b"8BPS", "a Photoshop document"),
)

_PILLOW_CLASSES: dict[str, type[ImageFile.ImageFile]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,
    "png": PngImagePlugin.PngImageFile,
    "jp2": Jpeg2KImagePlugin.Jpeg2KImageFile,
    "j2k": Jpeg2KImagePlugin.Jpeg2KImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
}

_PRINTABLE = frozenset(string.printable.encode())


def sniff_format(data: bytes) -> str:
    """Name the image format of ``data`` from its first bytes alone."""
    if not data:
        raise EmptyImageError("image data is empty (0 bytes)")
    head = bytes(data[:16])
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    raise UnsupportedFormatError(f"unsupported image format: the data looks like {_describe(head)}")


def _describe(head: bytes) -> str:
    for magic, label in _KNOWN_OTHERS:
        if head.startswith(magic):
            return label
    if head[4:8] == b"ftyp":
        return f"an ISO media file (brand {head[8:12].decode('latin-1')!r}, e.g. HEIC/AVIF/MP4)"
    if all(byte in _PRINTABLE for byte in head):
        return f"text ({head.decode('ascii')!r}...)"
    return f"unknown binary data (first bytes {head[:8].hex(' ')})"


def open_image(data: bytes, fmt: str) -> ImageFile.ImageFile:
    """A lazily-decoded Pillow image of ``data``: only the header has been read."""
    factory = _PILLOW_CLASSES.get(fmt)
    if factory is None:
        readable = sorted(_PILLOW_CLASSES)
        raise UnsupportedFormatError(f"cannot read {fmt!r} images; readable: {readable}")
    try:
        return factory(io.BytesIO(data))
    except Image.DecompressionBombError as exc:  # raised by a few plugins (WebP) while opening
        raise ImageTooLargeError(str(exc)) from exc
    except MemoryError:
        raise
    except Exception as exc:  # hostile headers reach many exception types inside Pillow
        logger.debug("Pillow rejected a %s header", fmt, exc_info=True)
        raise CorruptImageError(f"{fmt} header is truncated or invalid: {exc}") from exc


@contextlib.contextmanager
def pillow_errors(fmt: str) -> Iterator[None]:
    """Pillow's failures while decoding, as the project's image errors."""
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(str(exc)) from exc
    except MemoryError:
        raise
    except Exception as exc:  # hostile data reaches many exception types inside Pillow
        raise CorruptImageError(f"{fmt} data is truncated or corrupt: {exc}") from exc


def image_dimensions(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) as stored in the header, before any EXIF rotation; no pixel is decoded."""
    if fmt == "png" and data[12:16] == b"IHDR" and len(data) >= 24:
        # IHDR is always the first chunk: its size is known even when nothing follows it.
        width, height = struct.unpack(">II", data[16:24])
    else:
        with open_image(data, fmt) as image:
            width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptImageError(f"{fmt} header declares an empty image ({width}x{height})")
    return width, height


def default_output_format(source_format: str) -> str:
    """The output format of the same family as the input (JPEG for anything unknown)."""
    if source_format in {"jp2", "j2k"}:
        return "jp2"
    if source_format == "bmp":
        return "png"
    if source_format in {"png", "webp", "tiff", "jpeg"}:
        return source_format
    return "jpeg"
