"""Decode faithfully or refuse: the checks that keep a decode the input's picture.

- Frames: an animated WebP or PNG (APNG) or a multi-page TIFF is refused before decoding with
  :class:`FrameCountError` (``unsupported_format``, HTTP 415) naming the frame count: only one
  frame would be decoded and the others would be lost, unanonymised and unreported. A TIFF's
  reduced-resolution directories after the first (thumbnails, pyramid levels) are not pages.
- Size: every decoder's result must have the size the header announces (or its transpose, after
  an EXIF rotation); JPEG 2000 components stored at 1/XRsiz x 1/YRsiz decode to the largest
  component's size. A different size is :class:`DecodedSizeError` (``corrupt_image``, 422).
- Floating-point samples (a 32-bit float TIFF) must lie in 0.0-1.0, the convention of every
  float image writer; they are scaled to the integer range, anything else is
  :class:`SampleRangeError` (``unsupported_format``, 415), as is a float layout Pillow cannot
  read (colour, 16 or 64 bits) and 32-bit integer samples outside 0-65535 (clipping them would
  show another picture).
- EXIF: a malformed block is refused alike in every format by the header checks
  (:mod:`imaging.validate_header`); one that passes them but not Pillow's parser counts as
  orientation 1, as on the nvImageCodec path.
- Alpha and ICC profiles are read here (:class:`HeaderFacts`) for the codec to keep the alpha
  and convert the colours (:mod:`imaging.color`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from imaging.color import embedded_profile, jp2_icc_profile
from imaging.errors import CorruptImageError, UnsupportedFormatError
from imaging.formats import image_dimensions, open_image, pillow_errors
from imaging.openjpeg import read_sampling
from imaging.validate_tiff import first_value, open_tiff, values, walk

logger = logging.getLogger(__name__)

_SAMPLES_PER_PIXEL, _BITS_PER_SAMPLE, _SAMPLE_FORMAT, _IEEE_FLOAT = 277, 258, 339, 3
_NEW_SUBFILE_TYPE = 254
_ANIMATED_FORMATS = frozenset({"png", "webp"})  # APNG acTL, WebP ANIM; TIFF pages: tiff_pages
_ALPHA_MODES = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
_FRAME_WORDS = {"png": "an animated PNG (APNG)", "webp": "an animated WebP", "tiff": "a multi-page TIFF"}


class FrameCountError(UnsupportedFormatError):
    """The file holds several frames or pages; only single-frame images are processed."""

    def __init__(self, fmt: str, frames: int) -> None:
        unit = "pages" if fmt == "tiff" else "frames"
        super().__init__(
            f"{_FRAME_WORDS.get(fmt, fmt)} with {frames} {unit}: only single-{unit[:-1]} images are "
            f"processed (none would be anonymised but the first); send each {unit[:-1]} as its own image"
        )
        self.frames = frames


class DecodedSizeError(CorruptImageError):
    """A decoder produced a picture of another size than the header announces."""


class SampleRangeError(UnsupportedFormatError):
    """Floating-point samples outside 0.0-1.0 (or not finite), or a float layout not read here."""


@dataclass(frozen=True)
class HeaderFacts:
    """What the headers say a faithful decode must give, read before any pixel is decoded."""

    size: tuple[int, int]  # (width, height) of the decoded picture, before EXIF rotation
    alpha: bool  # an alpha channel or a transparency chunk (PNG tRNS: palette, gray or colour key)
    transparency_chunk: bool  # alpha from a tRNS chunk, not stored samples (nvImageCodec drops it)
    colour_key: tuple[int, ...] | None  # a gray / RGB tRNS key of an 8- or 16-bit PNG, at its depth
    icc_profile: bytes | None  # the embedded ICC profile, if any
    subsampled: bool  # JPEG 2000 components stored below the reference grid's resolution


def read_facts(data: bytes, fmt: str) -> HeaderFacts:
    """The file's :class:`HeaderFacts`, read after :func:`imaging.validate_image.check_image`
    passed (it has refused several frames or pages).

    Raises the ImageError subclass that describes a bad header (CorruptImageError...).
    """
    with open_image(data, fmt) as image, pillow_errors(fmt):
        transparency = "transparency" in image.info
        colour_key = _colour_key(data, fmt, image.info.get("transparency")) if image.mode != "P" else None
        alpha = image.mode in _ALPHA_MODES or transparency
        profile = embedded_profile(image) or (jp2_icc_profile(data) if fmt == "jp2" else None)
    sampling = read_sampling(data) if fmt in {"jp2", "j2k"} else None
    size = sampling.size if sampling is not None else image_dimensions(data, fmt)
    subsampled = sampling is not None and sampling.subsampled
    return HeaderFacts(size, alpha, transparency, colour_key, profile, subsampled)


def frame_count(data: bytes, fmt: str) -> int:
    """Frames of an APNG or animated WebP, pages of a TIFF (:func:`tiff_pages`); 1 for other formats.

    Raises the ImageError subclass that describes a header it cannot read (CorruptImageError...).
    """
    if fmt == "tiff":
        return tiff_pages(data)
    if fmt not in _ANIMATED_FORMATS:
        return 1
    with open_image(data, fmt) as image, pillow_errors(fmt):
        return int(getattr(image, "n_frames", 1))


def check_single_frame(data: bytes, fmt: str) -> None:
    """FrameCountError (``unsupported_format``, 415) naming the count for several frames or pages.

    The one check of it, made by :func:`imaging.validate_image.check_image` (decode and the
    gateway's upload check).
    """
    frames = frame_count(data, fmt)
    if frames != 1:
        raise FrameCountError(fmt, frames)


def _colour_key(data: bytes, fmt: str, key: object) -> tuple[int, ...] | None:
    """A PNG tRNS gray / RGB key as Pillow reads it (raw sample values), for 8 and 16-bit PNGs."""
    if fmt != "png" or len(data) < 25 or data[24] not in (8, 16):  # IHDR bit depth
        return None
    if isinstance(key, int):
        return (key,)
    if isinstance(key, tuple) and len(key) == 3 and all(isinstance(value, int) for value in key):
        return key
    return None


def tiff_pages(data: bytes) -> int:
    """Pages of a TIFF: the first image directory, plus every later one that is not a
    reduced-resolution copy (NewSubfileType bit 0: a thumbnail or pyramid level shows the same
    picture, so leaving it out loses nothing)."""
    tiff, first = open_tiff(data, "tiff")
    later = walk(tiff, first, follow_sub_ifds=False)[1:]
    return 1 + sum(1 for page in later if not (first_value(tiff, page, _NEW_SUBFILE_TYPE, 0) or 0) & 1)


def check_size(pixels: np.ndarray, expected: tuple[int, int], fmt: str, backend: str) -> None:
    """Raise DecodedSizeError unless HxWxC ``pixels`` is ``expected`` (width, height) or its transpose."""
    height, width = pixels.shape[:2]
    if (width, height) not in {expected, expected[::-1]}:
        raise DecodedSizeError(
            f"{fmt} decoded by {backend} to {width}x{height} but its header says "
            f"{expected[0]}x{expected[1]}: refused rather than answered with a different picture"
        )


def refuse_float_tiff(data: bytes) -> None:
    """SampleRangeError naming the layout when ``data``'s first page stores floating point.

    For a TIFF Pillow cannot open: Pillow reads one-sample 32-bit float only (mode F), so float
    colour, 16-bit and 64-bit float would otherwise be a puzzling ``corrupt_image``.
    """
    try:
        tiff, first = open_tiff(data, "tiff")
        page = walk(tiff, first, follow_sub_ifds=False, max_ifds=1)[0]
        if first_value(tiff, page, _SAMPLE_FORMAT, 1) != _IEEE_FLOAT:
            return
        samples = first_value(tiff, page, _SAMPLES_PER_PIXEL, 1)
        bits = values(tiff, page[_BITS_PER_SAMPLE]) if _BITS_PER_SAMPLE in page else [32]
    except (CorruptImageError, IndexError):
        return  # not readable as TIFF at all: the caller's corrupt_image stands
    raise SampleRangeError(
        f"tiff with {samples} sample{'s' if samples != 1 else ''} of {bits[0]}-bit floating point: "
        "only one-sample 32-bit floating-point TIFF (values 0.0-1.0) is read"
    )


def unit_float_samples(samples: np.ndarray, top: int) -> np.ndarray:
    """Float samples in 0.0-1.0 scaled to 0-``top`` (rounded) as uint8/uint16; SampleRangeError otherwise."""
    finite = np.isfinite(samples)
    low, high = (float(samples[finite].min()), float(samples[finite].max())) if finite.any() else (0.0, 0.0)
    if not finite.all() or low < 0.0 or high > 1.0:
        raise SampleRangeError(
            f"floating-point samples must lie in 0.0-1.0; this image has {'non-finite values and ' if not finite.all() else ''}"
            f"range {low:g} to {high:g}"
        )
    return np.rint(samples.astype(np.float64) * top).astype(np.uint8 if top == 0xFF else np.uint16)


def sixteen_bit_samples(samples: np.ndarray) -> np.ndarray:
    """Integer samples (Pillow mode I: 32-bit) as uint16; SampleRangeError outside 0-65535, where
    clipping would show another picture."""
    low, high = (int(samples.min()), int(samples.max())) if samples.size else (0, 0)
    if low < 0 or high > 0xFFFF:
        raise SampleRangeError(
            f"32-bit integer samples must lie in 0-65535 to be read as 16-bit; this image has range {low} to {high}"
        )
    return samples.astype(np.uint16)


def load_upright(image: Image.Image) -> None:
    """Decode the pixels and apply the EXIF orientation in place; unreadable EXIF counts as none."""
    image.load()
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except (SyntaxError, ValueError, OSError, KeyError, TypeError) as exc:  # Pillow's EXIF parse errors
        logger.info("unreadable EXIF ignored (orientation 1): %s", exc)
