"""Pillow decode and encode: the path for WebP, TIFF, BMP, raw J2K output and nvImageCodec misses.

Normalisation matches the nvImageCodec path: EXIF orientation applied, gray and palette expanded
to RGB, alpha dropped (the colour channels are kept as stored, and whatever lies under
transparent pixels is still seen by the detector and blurred; :class:`imaging.codec.ImageDecoder`
decodes files with alpha through :mod:`imaging.native` instead, to carry the alpha beside), 16-bit
samples scaled by >> 8 (Pillow's own ``convert`` would clip them), 32-bit float samples (0.0-1.0)
scaled to 0-255 (:func:`imaging.fidelity.unit_float_samples`), CMYK converted to RGB. Unreadable
EXIF counts as no orientation, as on the nvImageCodec path.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from imaging.errors import EncodeError
from imaging.fidelity import load_upright, sixteen_bit_samples, unit_float_samples
from imaging.formats import open_image, pillow_errors
from imaging.native import to_pillow
from imaging.options import EncodeOptions

_WIDE_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_PILLOW_FORMATS = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "tiff": "TIFF",
    "jp2": "JPEG2000",
    "j2k": "JPEG2000",
}


def decode_pillow(data: bytes, fmt: str) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of ``data``; CorruptImageError for truncated or garbled data,
    SampleRangeError for float samples outside 0.0-1.0."""
    with open_image(data, fmt) as image:
        with pillow_errors(fmt):
            load_upright(image)
        return to_rgb(image)  # outside pillow_errors: its SampleRangeError keeps its name


def to_rgb(image: Image.Image) -> np.ndarray:
    """C-contiguous HxWx3 uint8 RGB pixels of a loaded image of any mode."""
    if image.mode == "F":
        gray = unit_float_samples(np.asarray(image), 0xFF)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode in _WIDE_MODES:
        wide = sixteen_bit_samples(np.asarray(image))
        gray = (wide >> 8).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # the documented route for palette transparency
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image)[:, :, :3])


def encode_pillow(pixels: np.ndarray, options: EncodeOptions) -> bytes:
    """Encode HxWx3 uint8 RGB ``pixels`` (or any array :func:`imaging.native.to_pillow` takes)."""
    image = to_pillow(pixels if pixels.ndim == 3 else pixels[:, :, np.newaxis])
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=_PILLOW_FORMATS[options.format], **_save_kwargs(options, image))
    except (OSError, ValueError) as exc:
        raise EncodeError(f"Pillow could not encode {options.format}: {exc}") from exc
    return buffer.getvalue()


def _save_kwargs(options: EncodeOptions, image: Image.Image) -> dict[str, object]:
    if options.format in {"jp2", "j2k"}:
        return _jpeg2000_kwargs(options, colour=len(image.getbands()) >= 3)
    if options.format == "webp":
        return {"lossless": True} if options.lossless else {"quality": options.quality}
    if options.format == "tiff":
        return {"compression": "tiff_lzw"}
    if options.format == "jpeg":
        return {"quality": options.quality}
    return {}


def jpeg2000_psnr(quality: int) -> float:
    """The PSNR target (dB) that stands for ``quality`` in lossy JPEG 2000: 24 + quality / 5."""
    return 24.0 + quality / 5.0


def _jpeg2000_kwargs(options: EncodeOptions, colour: bool) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "no_jp2": options.format == "j2k",
        "irreversible": not options.lossless,
        # RGB -> YCbCr component transform (reversible RCT when lossless); colour images only
        "mct": 1 if colour else 0,
    }
    if options.tile_size is not None:
        kwargs["tile_size"] = options.tile_size
    if options.resolutions is not None:
        kwargs["num_resolutions"] = options.resolutions
    if options.lossless:
        return kwargs
    if options.compression_ratio is not None:
        return kwargs | {"quality_mode": "rates", "quality_layers": [options.compression_ratio]}
    psnr = options.psnr if options.psnr is not None else jpeg2000_psnr(options.quality)
    return kwargs | {"quality_mode": "dB", "quality_layers": [psnr]}
