"""Decode request bytes to RGB pixels and encode pixels back, nvImageCodec first, Pillow second.

Decoding: JPEG, PNG, JP2 and J2K go through nvImageCodec (one batched call); WebP, TIFF, BMP,
and anything nvImageCodec cannot parse or decode, go through Pillow. Every image comes out as a
C-contiguous HxWx3 uint8 RGB array, upright (EXIF orientation applied), alpha dropped, 16-bit
scaled to 8-bit; see :mod:`imaging.pillow_codec` for the normalisation rules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imaging.arrays import require_rgb
from imaging.errors import ImageError, ImageTooLargeError, InvalidOptionError
from imaging.formats import image_dimensions, sniff_format
from imaging.nvimgcodec_backend import (
    DECODE_PARAMS,
    code_stream,
    create_decoder,
    create_encoder,
    encode_params,
    to_pixels,
)
from imaging.options import EncodeOptions, parse_encode_options
from imaging.pillow_codec import decode_pillow, encode_pillow

__all__ = [
    "NVIMGCODEC_FORMATS",
    "DecodedImage",
    "EncodeOptions",
    "ImageDecoder",
    "ImageEncoder",
    "parse_encode_options",
]

logger = logging.getLogger(__name__)

NVIMGCODEC_FORMATS = frozenset({"jpeg", "png", "jp2", "j2k"})

_Pending = tuple[int, str, object]  # (position in the batch, format, nvimgcodec.CodeStream)


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # HxWx3 uint8 RGB, C-contiguous
    source_format: str  # as sniffed: "jpeg", "png", "jp2", "j2k", "webp", "tiff", "bmp"
    backend: str  # "nvimgcodec-cpu", "nvimgcodec-gpu" or "pillow"

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


class ImageDecoder:
    """Checks and decodes untrusted image bytes; build once, reuse for every request."""

    def __init__(self, max_pixels: int = 40_000_000, device: str = "auto") -> None:
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
            raise InvalidOptionError(f"max_pixels must be a positive integer, got {max_pixels!r}")
        self.max_pixels = max_pixels
        self._decoder, self.backend = create_decoder(device)

    def decode(self, data: bytes) -> DecodedImage:
        """Decode one image; raises the ImageError subclass that describes a bad input."""
        result = self.decode_batch([data])[0]
        if isinstance(result, ImageError):
            raise result
        return result

    def decode_batch(self, items: Sequence[bytes]) -> list[DecodedImage | ImageError]:
        """One result per input, in order: pixels, or the ImageError for that input."""
        results: list[DecodedImage | ImageError | None] = [None] * len(items)
        pending: list[_Pending] = []
        for index, data in enumerate(items):
            try:
                fmt = self.inspect(data)
            except ImageError as exc:
                results[index] = exc
                continue
            stream = code_stream(data) if fmt in NVIMGCODEC_FORMATS else None
            if stream is None:
                results[index] = _decode_with_pillow(data, fmt)
            else:
                pending.append((index, fmt, stream))
        self._decode_pending(items, pending, results)
        return results  # type: ignore[return-value]  # every slot is filled by now

    def inspect(self, data: bytes) -> str:
        """The checks made before any pixel is decoded: empty, format, header size vs limit."""
        fmt = sniff_format(data)
        width, height = image_dimensions(data, fmt)
        if width * height > self.max_pixels:
            raise ImageTooLargeError.for_size(width, height, self.max_pixels)
        return fmt

    def _decode_pending(
        self,
        items: Sequence[bytes],
        pending: list[_Pending],
        results: list[DecodedImage | ImageError | None],
    ) -> None:
        """Decode every nvImageCodec-bound item in one call; Pillow retries what it misses."""
        if not pending:
            return
        images = self._decode_streams([stream for _, _, stream in pending])
        for (index, fmt, _), image in zip(pending, images):
            pixels = to_pixels(image)
            if pixels is None:
                logger.debug("nvImageCodec failed on item %d (%s); trying Pillow", index, fmt)
                results[index] = _decode_with_pillow(items[index], fmt)
            else:
                results[index] = DecodedImage(pixels, fmt, self.backend)

    def _decode_streams(self, streams: list[object]) -> list[object | None]:
        try:
            return list(self._decoder.decode(streams, params=DECODE_PARAMS))
        except RuntimeError as exc:
            logger.warning("nvImageCodec batch decode failed (%s); decoding with Pillow", exc)
            return [None] * len(streams)


def _decode_with_pillow(data: bytes, fmt: str) -> DecodedImage | ImageError:
    try:
        return DecodedImage(decode_pillow(data, fmt), fmt, "pillow")
    except ImageError as exc:
        return exc


class ImageEncoder:
    """Encodes RGB pixels; nvImageCodec where it supports the options, Pillow otherwise."""

    def __init__(self, device: str = "auto") -> None:
        self._encoder, self.backend = create_encoder(device)

    def encode(self, pixels: np.ndarray, options: EncodeOptions) -> bytes:
        """Encode HxWx3 uint8 RGB ``pixels`` as described by ``options``."""
        require_rgb(pixels)
        pixels = np.ascontiguousarray(pixels)  # nvImageCodec rejects strided arrays
        data = self._encode_with_nvimgcodec(pixels, options)
        if data is None:
            logger.debug("encoding %s with Pillow", options.format)
            return encode_pillow(pixels, options)
        return data

    def _encode_with_nvimgcodec(self, pixels: np.ndarray, options: EncodeOptions) -> bytes | None:
        target = encode_params(options)
        if target is None:
            return None
        codec, params = target
        try:
            stream = self._encoder.encode(pixels, codec, params=params)
        except RuntimeError as exc:
            logger.warning("nvImageCodec %s encode raised (%s); using Pillow", codec, exc)
            return None
        if stream is None:
            logger.warning("nvImageCodec could not encode %s; using Pillow", codec)
            return None
        return bytes(stream)
