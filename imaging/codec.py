"""Decode request bytes to RGB pixels and encode pixels back, nvImageCodec first, Pillow second.

Decoding: JPEG, PNG, JP2 and J2K go through nvImageCodec (one batched call); WebP, TIFF, BMP,
and anything nvImageCodec cannot parse or decode, go through Pillow; files with alpha go through
Pillow (nvImageCodec drops a tRNS chunk's transparency) and JPEG 2000 with subsampled components
through OpenJPEG itself (:mod:`imaging.openjpeg`). Every image comes out as a C-contiguous HxWx3
uint8 RGB array, upright (EXIF orientation applied), 16-bit scaled to 8-bit, converted to sRGB
where an ICC profile says otherwise (:mod:`imaging.color`), with its alpha channel beside it.
Nothing is answered that is not the input's picture (:mod:`imaging.fidelity`): several frames
or pages are refused, and a decode whose size differs from the header's gives way to the next
decoder or is refused. ``decode_native`` and ``encode_native`` keep depth and components
instead (transcoding; :mod:`imaging.native`), and JPEG 2000 goes through
:mod:`imaging.jpeg2000` (reduced-resolution decode, every encode option, nvJPEG2000 on a GPU).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from imaging.arrays import require_rgb, split_alpha
from imaging.color import native_to_srgb, to_srgb
from imaging.errors import ImageError, InvalidOptionError
from imaging.fidelity import HeaderFacts, check_size, read_facts
from imaging.jpeg2000 import (
    Encoded,
    decode_jpeg2000,
    decode_nvimgcodec_native,
    encode_jpeg2000,
)
from imaging.jpeg2000_header import reduced_size
from imaging.native import (
    NativeImage,
    decode_pillow_native,
    encode_wide_with_opencv,
    fit_to_format,
    pillow_can_hold,
    with_colour_key,
)
from imaging.nvimgcodec_backend import (
    DECODE_PARAMS,
    code_stream,
    create_decoder,
    create_encoder,
    encode_params,
    to_pixels,
)
from imaging.openjpeg import decode_components
from imaging.options import EncodeOptions, parse_encode_options
from imaging.pillow_codec import decode_pillow, encode_pillow
from imaging.validate_image import check_image

__all__ = [
    "NVIMGCODEC_FORMATS",
    "DecodedImage",
    "EncodeOptions",
    "Encoded",
    "NativeImage",
    "ImageDecoder",
    "ImageEncoder",
    "parse_encode_options",
]

logger = logging.getLogger(__name__)

NVIMGCODEC_FORMATS = frozenset({"jpeg", "png", "jp2", "j2k"})
JPEG2000_FORMATS = frozenset({"jp2", "j2k"})

# (position in the batch, format, what its headers say, nvimgcodec.CodeStream)
_Pending = tuple[int, str, HeaderFacts, object]


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # HxWx3 uint8 RGB (sRGB after any ICC conversion), C-contiguous
    source_format: str  # as sniffed: "jpeg", "png", "jp2", "j2k", "webp", "tiff", "bmp"
    backend: str  # "nvimgcodec-cpu", "nvimgcodec-gpu", "pillow" or "openjpeg"
    alpha: np.ndarray | None = None  # HxW uint8 opacity (16-bit >> 8); None when the file has none
    color: dict[str, Any] | None = None  # METADATA `color` when the file embeds an ICC profile

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


class ImageDecoder:
    """Checks and decodes untrusted image bytes; build once, reuse for every request."""

    def __init__(self, max_pixels: int = 100_000_000, device: str = "auto") -> None:
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
                facts = read_facts(data, fmt)
            except ImageError as exc:
                results[index] = exc
                continue
            nvimgcodec_can = fmt in NVIMGCODEC_FORMATS and not facts.alpha and not facts.subsampled
            stream = code_stream(data) if nvimgcodec_can else None
            if stream is None:
                results[index] = self._decode_without_nvimgcodec(data, fmt, facts)
            else:
                pending.append((index, fmt, facts, stream))
        self._decode_pending(items, pending, results)
        return results  # type: ignore[return-value]  # every slot is filled by now

    def inspect(self, data: bytes, reduce: int = 0) -> str:
        """The format of ``data`` once the checks made before any pixel is decoded passed (empty,
        format, header size against ``max_pixels``, header, one frame):
        :func:`imaging.validate_image.check_image`, the gateway's upload check too.

        With ``reduce`` (JPEG 2000 halvings) the limit applies to the reduced size: a preview of
        a huge scan decodes only its lower resolution levels.
        """
        return check_image(data, self.max_pixels, reduce)

    def decode_native(self, data: bytes, reduce: int = 0) -> NativeImage:
        """Decode one image at its stored depth and components (for transcoding, not detection).

        ``reduce`` > 0 (JPEG 2000 only) decodes at 1/2, 1/4, ... of the resolution. A tRNS chunk
        becomes an alpha channel; 8-bit RGB(A) in a non-sRGB ICC profile is converted to sRGB
        (``color`` records it). Refusals as for :meth:`decode_batch`.
        """
        fmt = self.inspect(data, reduce)
        facts = read_facts(data, fmt)
        image = self._decode_native(data, fmt, reduce, facts)
        if facts.icc_profile is None:
            return image
        pixels, color = native_to_srgb(image.pixels, facts.icc_profile)
        return replace(image, pixels=pixels, color=color)

    def _decode_native(self, data: bytes, fmt: str, reduce: int, facts: HeaderFacts) -> NativeImage:
        if fmt in JPEG2000_FORMATS:
            image = decode_jpeg2000(data, fmt, reduce, self._decoder, self.backend)
            check_size(image.pixels, reduced_size(*facts.size, reduce), fmt, image.backend)
            return image
        if reduce:
            raise InvalidOptionError(f"reduce applies only to JPEG 2000 input, not {fmt}")
        if facts.transparency_chunk:  # nvImageCodec alone would drop the tRNS chunk's transparency
            return _checked_native(*self._with_transparency(data, fmt, facts), fmt, facts)
        pixels = decode_nvimgcodec_native(data, self._decoder) if fmt in NVIMGCODEC_FORMATS else None
        if pixels is not None:
            try:
                return _checked_native(pixels, self.backend, fmt, facts)
            except ImageError as exc:
                logger.warning("nvImageCodec decode refused (%s); trying Pillow", exc)
        return _checked_native(decode_pillow_native(data, fmt), "pillow", fmt, facts)

    def _decode_pending(
        self,
        items: Sequence[bytes],
        pending: list[_Pending],
        results: list[DecodedImage | ImageError | None],
    ) -> None:
        """Decode every nvImageCodec-bound item in one call; Pillow retries what it misses."""
        if not pending:
            return
        images = self._decode_streams([stream for _, _, _, stream in pending])
        for (index, fmt, facts, _), image in zip(pending, images, strict=True):
            pixels = to_pixels(image)
            if pixels is not None:
                try:
                    results[index] = _finish(pixels, None, fmt, self.backend, facts)
                    continue
                except ImageError as exc:
                    logger.warning("nvImageCodec decode of item %d refused (%s); trying Pillow", index, exc)
            logger.debug("nvImageCodec failed on item %d (%s); trying Pillow", index, fmt)
            results[index] = self._decode_without_nvimgcodec(items[index], fmt, facts)

    def _decode_without_nvimgcodec(self, data: bytes, fmt: str, facts: HeaderFacts) -> DecodedImage | ImageError:
        """OpenJPEG for subsampled JPEG 2000, native depth for alpha, Pillow RGB otherwise."""
        try:
            if facts.subsampled:
                samples, bits = decode_components(data, fmt)
                return _finish(*split_alpha(samples, bits), fmt, "openjpeg", facts)
            if facts.alpha:
                native, backend = self._with_transparency(data, fmt, facts)
                return _finish(*split_alpha(native, 8 * native.itemsize), fmt, backend, facts)
            return _finish(decode_pillow(data, fmt), None, fmt, "pillow", facts)
        except ImageError as exc:
            return exc

    def _with_transparency(self, data: bytes, fmt: str, facts: HeaderFacts) -> tuple[np.ndarray, str]:
        """(HxWxC native samples with their alpha, backend) of a file with alpha or a tRNS chunk.

        A gray or RGB colour key of 8 or 16 bits is applied to nvImageCodec's samples at their
        depth (Pillow holds 16-bit RGB in 8 bits and compares it with the 16-bit key: no alpha);
        palettes and the rest go through Pillow.
        """
        if facts.colour_key is not None and fmt in NVIMGCODEC_FORMATS:
            pixels = decode_nvimgcodec_native(data, self._decoder)
            if pixels is not None and pixels.shape[2] == len(facts.colour_key):
                return with_colour_key(pixels, facts.colour_key), self.backend
        return decode_pillow_native(data, fmt), "pillow"

    def _decode_streams(self, streams: list[object]) -> list[object | None]:
        try:
            return list(self._decoder.decode(streams, params=DECODE_PARAMS))
        except RuntimeError as exc:
            logger.warning("nvImageCodec batch decode failed (%s); decoding with Pillow", exc)
            return [None] * len(streams)


def _finish(
    pixels: np.ndarray, alpha: np.ndarray | None, fmt: str, backend: str, facts: HeaderFacts
) -> DecodedImage:
    """The checked result: size as the header says (else DecodedSizeError), converted to sRGB."""
    check_size(pixels, facts.size, fmt, backend)
    color = None
    if facts.icc_profile is not None:
        pixels, color = to_srgb(pixels, facts.icc_profile)
    return DecodedImage(pixels, fmt, backend, alpha, color)


def _checked_native(pixels: np.ndarray, backend: str, fmt: str, facts: HeaderFacts) -> NativeImage:
    check_size(pixels, facts.size, fmt, backend)
    return NativeImage(pixels, fmt, backend, 8 * pixels.itemsize)


class ImageEncoder:
    """Encodes pixels; nvImageCodec where it supports the options, Pillow otherwise."""

    def __init__(self, device: str = "auto") -> None:
        self._encoder, self.backend = create_encoder(device)

    def encode(self, pixels: np.ndarray, options: EncodeOptions) -> bytes:
        """Encode HxWx3 uint8 RGB ``pixels`` as described by ``options``."""
        require_rgb(pixels)
        return self.encode_native(pixels, options).data

    def encode_native(self, pixels: np.ndarray, options: EncodeOptions) -> Encoded:
        """Encode HxWxC uint8/uint16 pixels (C 1-4), and name the backend that did it.

        JPEG and WebP hold 8 bits (16-bit samples are shifted >> 8); JPEG drops alpha, WebP
        expands gray to RGB (:func:`imaging.native.fit_to_format`). PNG, TIFF and JPEG 2000 keep
        depth and components.
        """
        pixels = fit_to_format(pixels, options.format)  # C-contiguous: nvImageCodec needs it
        if options.format in JPEG2000_FORMATS:
            return encode_jpeg2000(pixels, options, self._encoder, self.backend)
        if pixels.shape[2] == 3 and pixels.dtype == np.uint8:
            data = self._encode_with_nvimgcodec(pixels, options)
            if data is not None:
                return Encoded(data, self.backend)
        if not pillow_can_hold(pixels):
            return Encoded(encode_wide_with_opencv(pixels, options.format), "opencv")
        logger.debug("encoding %s with Pillow", options.format)
        return Encoded(encode_pillow(pixels, options), "pillow")

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
