"""PNG previews of stored images, for browsers that cannot show JPEG 2000 or TIFF.

The stored file is decoded by Triton's ``transcode`` model (never in the gateway's process: a
crafted file may crash a native decoder), as PNG, a JPEG 2000 one at a reduced resolution
(``reduce``) when it is much larger than the preview. That PNG, made by our own encoder, is then
shrunk here to at most ``size`` pixels a side, 8 bits a sample.
"""

from __future__ import annotations

import asyncio
import io

import numpy as np
from PIL import Image, PngImagePlugin

from gateway.inference.service import Inference
from gateway.jobs.models import OptionValue, Priority
from imaging.formats import sniff_format
from imaging.jpeg2000_header import read_header, reduced_size

JPEG2000_FORMATS = frozenset({"jp2", "j2k"})
EIGHT_BIT_MODES = frozenset({"L", "LA", "RGB", "RGBA"})


def preview_reduce(data: bytes, size: int) -> int:
    """JPEG 2000 halvings (``reduce``) that keep the longest side at least ``size`` px.

    ``data``: the encoded file. 0 for any other format, and never more than the codestream's
    wavelet levels. Raises ``imaging.errors.CorruptImageError`` for a truncated JPEG 2000 header.
    """
    if sniff_format(data) not in JPEG2000_FORMATS:
        return 0
    header = read_header(data)
    halvings = 0
    while halvings < header.levels and max(reduced_size(header.width, header.height, halvings + 1)) >= size:
        halvings += 1
    return halvings


def shrink_png(png: bytes, size: int) -> bytes:
    """``png`` (any depth: 8/16-bit gray, gray+alpha, RGB, RGBA) as an 8-bit PNG whose longest
    side is at most ``size`` px, aspect ratio kept (never enlarged).

    The PNG is trusted (our own encoder wrote it, within the decode model's pixel limit), so
    Pillow's decompression-bomb check is skipped by opening it through the PNG plugin.
    """
    with PngImagePlugin.PngImageFile(io.BytesIO(png)) as image:
        image.load()
        picture = _eight_bit(image)
    picture.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _eight_bit(image: Image.Image) -> Image.Image:
    """8 bits a sample: 16-bit gray (Pillow's ``I;16`` / ``I``) scaled down, not clipped."""
    if image.mode in EIGHT_BIT_MODES:
        return image.copy()
    if image.mode.startswith("I"):
        samples = np.asarray(image).astype(np.uint32)
        return Image.fromarray((samples // 257).clip(0, 255).astype(np.uint8), mode="L")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


async def render_preview(inference: Inference, data: bytes, size: int) -> bytes:
    """An 8-bit PNG of the encoded image ``data``, longest side at most ``size`` px.

    Errors are those of a Triton call (``imaging.errors.ImageError`` for a file the decoder
    refuses, ``gateway.core.errors.GatewayError`` subclasses for Triton being down or busy).
    """
    halvings = preview_reduce(data, size)
    options: dict[str, OptionValue] = {"format": "png", "reduce": halvings} if halvings else {"format": "png"}
    processed, _ = await inference.run(data, options, Priority.high, wait=True, model="transcode")
    return await asyncio.to_thread(shrink_png, processed.result, size)
