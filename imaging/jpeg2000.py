"""JPEG 2000 decode and encode through one API, whichever codec does the work.

Backends, in the order they are tried, and what each is used for (measured with
nvidia-nvimgcodec-cu12 0.9 and Pillow 13 / OpenJPEG 2.5.4):

- decode, full resolution: nvImageCodec (nvJPEG2000 on a GPU, OpenJPEG on the CPU), any depth
  and 1, 3 or 4 components; Pillow for what it misses (2 components, damaged files: the error);
  components subsampled below the reference grid (XRsiz/YRsiz > 1), which both get wrong,
  through libopenjp2 itself (:mod:`imaging.openjpeg`, backend "openjpeg"), also for ``reduce``
  (decoded in full, then area-averaged).
- decode, reduced resolution (``reduce`` = halvings, up to the codestream's wavelet levels): the
  nvImageCodec 0.9 API has no resolution-level decode, so Pillow's OpenJPEG decodes only the
  lower levels. Pillow has no 16-bit colour mode: those are decoded in full by nvImageCodec and
  area-averaged instead (``reduce_method`` says which).
- encode: on a GPU nvJPEG2000 first (lossless, PSNR or ratio, tiles, resolutions); Pillow's
  OpenJPEG for everything it can hold (8-bit, 16-bit gray): every option, the best quality on the
  CPU. 16-bit colour on the CPU goes to nvImageCodec's CPU encoder, which does lossless or a
  target ratio only, one tile, JP2 container (a .j2k is cut out of it).

Every result says which backend made it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from nvidia import nvimgcodec

from imaging.errors import InvalidOptionError
from imaging.jpeg2000_header import Jpeg2000Header, codestream, read_header, reduced_size
from imaging.native import NativeImage, decode_pillow_native, pillow_can_hold, require_native
from imaging.openjpeg import decode_components, read_sampling
from imaging.options import EncodeOptions
from imaging.pillow_codec import encode_pillow, jpeg2000_psnr

logger = logging.getLogger(__name__)

NATIVE_DECODE_PARAMS = nvimgcodec.DecodeParams(
    apply_exif_orientation=True,
    color_spec=nvimgcodec.ColorSpec.UNCHANGED,
    allow_any_depth=True,
    sample_format=nvimgcodec.SampleFormat.I_UNCHANGED,  # keep 1-4 components as stored
)
MAX_REDUCE = 32


@dataclass(frozen=True)
class Encoded:
    data: bytes
    backend: str  # "nvimgcodec-gpu", "nvimgcodec-cpu" or "pillow"


def check_reduce(reduce: object, header: Jpeg2000Header) -> int:
    """``reduce`` as an int, refused when the codestream has fewer wavelet levels."""
    if isinstance(reduce, bool) or not isinstance(reduce, int) or not 0 <= reduce <= MAX_REDUCE:
        raise InvalidOptionError(f"reduce must be an integer 0-{MAX_REDUCE}, got {reduce!r}")
    if reduce > header.levels:
        raise InvalidOptionError(
            f"reduce={reduce} is more than the {header.levels} resolution reductions "
            f"this {header.container} codestream has"
        )
    return reduce


def decode_jpeg2000(
    data: bytes, fmt: str, reduce: int, decoder: nvimgcodec.Decoder, backend: str
) -> NativeImage:
    """Pixels at their stored depth, ``reduce`` times halved (see the module docstring)."""
    header = read_header(data)
    reduce = check_reduce(reduce, header)
    sampling = read_sampling(data)
    if reduce and not sampling.subsampled and (header.bits <= 8 or header.components == 1):
        pixels = decode_pillow_native(data, fmt, reduce)
        return NativeImage(pixels, fmt, "pillow", header.bits, reduce_method="codestream")
    if sampling.subsampled:  # neither nvImageCodec nor Pillow decodes these (imaging.openjpeg)
        samples, bits = decode_components(data, fmt)
        image = NativeImage(samples, fmt, "openjpeg", bits)
    else:
        image = _decode_full(data, fmt, decoder, backend, header)
    if not reduce:
        return image
    width, height = reduced_size(image.width, image.height, reduce)
    smaller = cv2.resize(image.pixels, (width, height), interpolation=cv2.INTER_AREA)
    pixels = np.ascontiguousarray(require_native(smaller))  # cv2 drops a single channel's axis
    return NativeImage(pixels, fmt, image.backend, header.bits, reduce_method="resample")


def _decode_full(
    data: bytes, fmt: str, decoder: nvimgcodec.Decoder, backend: str, header: Jpeg2000Header
) -> NativeImage:
    pixels = decode_nvimgcodec_native(data, decoder)
    if pixels is None:
        logger.debug("nvImageCodec could not decode the %s; trying Pillow", fmt)
        return NativeImage(decode_pillow_native(data, fmt), fmt, "pillow", header.bits)
    return NativeImage(pixels, fmt, backend, header.bits)


def decode_nvimgcodec_native(data: bytes, decoder: nvimgcodec.Decoder) -> np.ndarray | None:
    """HxWxC pixels as stored, or None where nvImageCodec cannot decode them."""
    try:
        image = decoder.decode(nvimgcodec.CodeStream(data), params=NATIVE_DECODE_PARAMS)
    except RuntimeError as exc:
        logger.debug("nvImageCodec raised: %s", exc)
        return None
    if image is None:
        return None
    pixels = np.asarray(image.cpu())
    if pixels.ndim != 3 or pixels.dtype not in (np.uint8, np.uint16):
        return None
    return np.ascontiguousarray(pixels)


def encode_jpeg2000(
    pixels: np.ndarray, options: EncodeOptions, encoder: nvimgcodec.Encoder, backend: str
) -> Encoded:
    """A .jp2 or .j2k of HxWxC uint8/uint16 ``pixels`` as ``options`` ask."""
    pixels = np.ascontiguousarray(require_native(pixels))
    check_resolutions(options, pixels.shape[1], pixels.shape[0])
    if backend == "nvimgcodec-gpu":
        data = _nvimgcodec_encode(pixels, options, encoder, gpu_params(options, pixels.shape[2]))
        if data is not None:
            return Encoded(data, backend)
        logger.warning("nvJPEG2000 could not encode %s; trying the CPU", pixels.shape)
    if pillow_can_hold(pixels):
        return Encoded(encode_pillow(pixels, options), "pillow")
    return _encode_wide_colour_on_cpu(pixels, options, encoder, backend)


def check_resolutions(options: EncodeOptions, width: int, height: int) -> None:
    """OpenJPEG needs every tile side to be at least 2^(resolutions - 1) pixels."""
    if options.resolutions is None:
        return
    tile_width, tile_height = options.tile_size or (width, height)
    side = min(tile_width, tile_height, width, height)
    if side < 1 << (options.resolutions - 1):
        raise InvalidOptionError(
            f"resolutions={options.resolutions} needs tiles of at least "
            f"{1 << (options.resolutions - 1)} pixels a side; this image or tile has {side}"
        )


def gpu_params(options: EncodeOptions, channels: int) -> nvimgcodec.EncodeParams:
    """nvJPEG2000 parameters: every option maps to one."""
    bitstream = nvimgcodec.Jpeg2kBitstreamType
    jpeg2k = nvimgcodec.Jpeg2kEncodeParams(
        num_resolutions=options.resolutions or 6,
        bitstream_type=bitstream.J2K if options.format == "j2k" else bitstream.JP2,
        mct_mode=1 if channels >= 3 else 0,
    )
    tiles = {}
    if options.tile_size is not None:
        tiles = {"tile_width": options.tile_size[0], "tile_height": options.tile_size[1]}
    return nvimgcodec.EncodeParams(**_quality(options), jpeg2k_encode_params=jpeg2k, **tiles)


def _quality(options: EncodeOptions) -> dict[str, object]:
    kinds = nvimgcodec.QualityType
    if options.lossless:
        return {"quality_type": kinds.LOSSLESS}
    if options.compression_ratio is not None:  # SIZE_RATIO is encoded size / raw size
        return {"quality_type": kinds.SIZE_RATIO, "quality_value": 1 / options.compression_ratio}
    psnr = options.psnr if options.psnr is not None else jpeg2000_psnr(options.quality)
    return {"quality_type": kinds.PSNR, "quality_value": psnr}


def _encode_wide_colour_on_cpu(
    pixels: np.ndarray, options: EncodeOptions, encoder: nvimgcodec.Encoder, backend: str
) -> Encoded:
    """16-bit colour without a GPU: nvImageCodec's CPU encoder, lossless or a target ratio."""
    if not options.lossless and options.compression_ratio is None:
        raise InvalidOptionError(
            "16-bit colour JPEG 2000 without a GPU needs lossless=true or a compression_ratio "
            "(the CPU encoder has no PSNR or quality target)"
        )
    for name in ("tile_size", "resolutions"):
        if getattr(options, name) is not None:
            raise InvalidOptionError(f"{name} is not available for 16-bit colour JPEG 2000 without a GPU")
    data = _nvimgcodec_encode(pixels, options, encoder, nvimgcodec.EncodeParams(**_quality(options)))
    if data is None:
        raise InvalidOptionError(f"no encoder here can write {pixels.shape[2]}-channel 16-bit JPEG 2000")
    if options.format == "j2k":
        data = bytes(codestream(data))  # this encoder always writes the JP2 container
    return Encoded(data, backend)


def _nvimgcodec_encode(
    pixels: np.ndarray, options: EncodeOptions, encoder: nvimgcodec.Encoder, params: object
) -> bytes | None:
    try:
        stream = encoder.encode(pixels, "jpeg2k", params=params)
    except RuntimeError as exc:
        logger.warning("nvImageCodec jpeg2k encode of %s raised: %s", options.format, exc)
        return None
    return None if stream is None else bytes(stream)
