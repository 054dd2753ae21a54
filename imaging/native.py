"""Images kept at their stored depth and components, for transcoding (no detection involved).

The anonymisation pipeline normalises everything to 8-bit RGB; a transcode must not: a 16-bit
grayscale scan or an RGBA PNG stays what it is. Here pixels are HxWxC arrays, C in 1-4
(gray, gray+alpha, RGB, RGBA), uint8 or uint16. Pillow modes map as follows: 1 -> L; P -> RGB
or RGBA; PA -> RGBA; a tRNS chunk (palette, gray or RGB colour key) -> an alpha channel; CMYK,
YCbCr, LAB, HSV -> RGB; I;16 -> 16-bit gray; I (32-bit integer, 0-65535) -> 16-bit gray; F
(32-bit float, 0.0-1.0) -> 16-bit gray, scaled. Samples outside those ranges are refused
(:class:`imaging.fidelity.SampleRangeError`) rather than clipped into another picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageFile

from imaging.errors import CorruptImageError, EncodeError, InvalidArrayError
from imaging.fidelity import load_upright, sixteen_bit_samples, unit_float_samples
from imaging.formats import open_image, pillow_errors
from imaging.jpeg2000_header import reduced_size

_KEPT_MODES = frozenset({"L", "LA", "RGB", "RGBA"})
_WIDE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
EIGHT_BIT_FORMATS = frozenset({"jpeg", "webp"})


@dataclass(frozen=True)
class NativeImage:
    pixels: np.ndarray  # HxWxC uint8 or uint16, C in 1-4, C-contiguous
    source_format: str
    backend: str  # "nvimgcodec-cpu", "nvimgcodec-gpu" or "pillow"
    bits: int  # significant bits per sample as stored (8, 12, 16...)
    reduce_method: str = "none"  # JPEG 2000 reduced-resolution decode: "codestream" or "resample"
    color: dict[str, Any] | None = None  # METADATA `color` when the file embeds an ICC profile

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


def require_native(pixels: np.ndarray, name: str = "pixels") -> np.ndarray:
    """``pixels`` as HxWxC (a 2-D array gains C=1); raise unless uint8/uint16 with 1-4 channels."""
    if not isinstance(pixels, np.ndarray):
        raise InvalidArrayError(f"{name} must be a numpy array, got {type(pixels).__name__}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3 or not 1 <= pixels.shape[2] <= 4 or pixels.dtype not in (np.uint8, np.uint16):
        raise InvalidArrayError(
            f"{name} must be HxWxC uint8/uint16 with C in 1-4, got {pixels.shape} {pixels.dtype}"
        )
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise InvalidArrayError(f"{name} has no pixels: shape {pixels.shape}")
    return pixels


def decode_pillow_native(data: bytes, fmt: str, reduce: int = 0) -> np.ndarray:
    """HxWxC pixels of ``data`` at their stored depth; ``reduce`` halvings for JPEG 2000 only."""
    with open_image(data, fmt) as image:
        if fmt == "tiff" and _is_wide_colour_tiff(image):
            return _decode_wide_tiff(data)  # Pillow would cut 16-bit colour to 8 bits
        with pillow_errors(fmt):
            if reduce:
                _ask_for_reduced_resolution(image, reduce)
            load_upright(image)
        return pillow_to_native(image)  # outside pillow_errors: its SampleRangeError keeps its name


def _ask_for_reduced_resolution(image: ImageFile.ImageFile, reduce: int) -> None:
    """Make the next load() decode ``reduce`` halvings of a JPEG 2000 image.

    Not through ``image.reduce = n``: Pillow 13's Jpeg2KImageFile.load rounds the reduced size to
    the nearest pixel where OpenJPEG (and the standard) round up, so e.g. 301 px at reduce 2 fails
    with "broken data stream". This sets the tile as that load() would, with the size rounded up.
    """
    width, height = reduced_size(image.width, image.height, reduce)
    codec, _, offset, args = image.tile[0]
    if not isinstance(args, tuple):
        raise CorruptImageError(f"jpeg2000 reader set no decoder arguments ({args!r})")
    args = (args[0], reduce, getattr(image, "layers", 0), args[3], args[4])
    image._size = (width, height)  # noqa: SLF001 - see the docstring
    image.tile = [ImageFile._Tile(codec, (0, 0, width, height), offset, args)]  # noqa: SLF001


def _is_wide_colour_tiff(image: Image.Image) -> bool:
    bits = image.tag_v2.get(258, (8,))  # type: ignore[attr-defined]  # BitsPerSample
    bits = bits if isinstance(bits, tuple) else (bits,)
    return len(bits) >= 2 and max(bits) > 8


def _decode_wide_tiff(data: bytes) -> np.ndarray:
    """16-bit colour TIFF through OpenCV's libtiff (as stored: no orientation tag applied)."""
    pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise CorruptImageError("tiff data is truncated or corrupt (16-bit colour)")
    order = cv2.COLOR_BGR2RGB if pixels.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
    return np.ascontiguousarray(cv2.cvtColor(pixels, order))


def pillow_to_native(image: Image.Image) -> np.ndarray:
    """C-contiguous HxWxC uint8/uint16 pixels of a loaded image of any mode."""
    if image.mode == "F":
        return np.ascontiguousarray(unit_float_samples(np.asarray(image), 0xFFFF)[:, :, np.newaxis])
    if image.mode in _WIDE_MODES:
        wide = sixteen_bit_samples(np.asarray(image))
        return np.ascontiguousarray(wide[:, :, np.newaxis])
    if "transparency" in image.info and image.mode in {"1", "L", "RGB", "P"}:
        # a tRNS chunk (palette alpha, or a gray / RGB colour key) becomes an alpha channel
        image = image.convert("LA" if image.mode in {"1", "L"} else "RGBA")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode in {"P", "PA"}:
        image = image.convert("RGBA" if image.mode == "PA" else "RGB")
    elif image.mode not in _KEPT_MODES:
        image = image.convert("RGB")
    pixels = np.asarray(image)
    return np.ascontiguousarray(pixels if pixels.ndim == 3 else pixels[:, :, np.newaxis])


def with_colour_key(pixels: np.ndarray, key: tuple[int, ...]) -> np.ndarray:
    """HxWxC (C 1 or 3) samples with an alpha channel appended: 0 where every channel equals the
    PNG tRNS colour ``key`` (given at the samples' depth), fully opaque elsewhere."""
    if pixels.shape[2] != len(key):
        raise InvalidArrayError(f"colour key {key} does not match {pixels.shape[2]}-channel pixels")
    transparent = np.all(pixels == np.asarray(key, dtype=pixels.dtype), axis=2)
    opaque = np.iinfo(pixels.dtype).max
    alpha = np.where(transparent, 0, opaque).astype(pixels.dtype)
    return np.ascontiguousarray(np.dstack([pixels, alpha]))


def fit_to_format(pixels: np.ndarray, fmt: str) -> np.ndarray:
    """``pixels`` reduced to what ``fmt`` can store: JPEG and WebP are 8-bit (16-bit >> 8), JPEG
    has no alpha (dropped), WebP no grayscale (expanded to RGB). Others keep everything."""
    pixels = require_native(pixels)
    if fmt in EIGHT_BIT_FORMATS and pixels.dtype != np.uint8:
        pixels = (pixels >> 8).astype(np.uint8)
    channels = pixels.shape[2]
    if fmt == "jpeg" and channels in (2, 4):
        pixels = pixels[:, :, : channels - 1]
    if fmt == "webp" and channels in (1, 2):
        pixels = np.dstack([pixels[:, :, :1].repeat(3, axis=2), pixels[:, :, 1:]])
    return np.ascontiguousarray(pixels)


def pillow_can_hold(pixels: np.ndarray) -> bool:
    """Pillow has modes for 8-bit L/LA/RGB/RGBA and 16-bit gray, not for 16-bit colour."""
    return pixels.dtype == np.uint8 or pixels.shape[2] == 1


def to_pillow(pixels: np.ndarray) -> Image.Image:
    """A Pillow image of HxWxC pixels (see pillow_can_hold)."""
    return Image.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)


def encode_wide_with_opencv(pixels: np.ndarray, fmt: str) -> bytes:
    """PNG or TIFF of 16-bit colour (which Pillow cannot hold) through OpenCV's libpng/libtiff."""
    if pixels.shape[2] == 2:  # gray + alpha: OpenCV writes 1, 3 or 4 channels
        pixels = np.dstack([pixels[:, :, :1].repeat(3, axis=2), pixels[:, :, 1:]])
    order = cv2.COLOR_RGB2BGR if pixels.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
    ok, encoded = cv2.imencode(f".{'tif' if fmt == 'tiff' else fmt}", cv2.cvtColor(pixels, order))
    if not ok:
        raise EncodeError(f"OpenCV could not encode 16-bit {fmt}")
    return encoded.tobytes()
