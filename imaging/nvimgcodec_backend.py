"""nvImageCodec glue: device selection, decode/encode parameters and result checks.

Measured with nvidia-nvimgcodec-cu12 0.9 on a CPU-only machine (its CPU backend wraps
libjpeg-turbo, libpng and OpenJPEG through OpenCV): JPEG, PNG, JP2 and J2K decode bit-identical
to Pillow, including EXIF orientation, grayscale, palette, CMYK JPEG, and 16-bit (scaled >> 8,
where Pillow's own convert clips). A failed decode gives None, a header it cannot parse raises
RuntimeError. CPU encode works for jpeg (byte-identical to Pillow), png, webp and tiff. Its
JPEG 2000 encoder (OpenJPEG via OpenCV) writes only the JP2 container, returns None for QUALITY,
PSNR and MCT settings, and without the colour transform it loses to Pillow's OpenJPEG on every
count (about 4 dB PSNR at ratio 20, 10-40 % larger lossless files, slower), so JPEG 2000 is
encoded with Pillow.
"""

from __future__ import annotations

import logging

import numpy as np
from nvidia import nvimgcodec

from imaging.errors import DeviceUnavailableError, InvalidOptionError
from imaging.options import EncodeOptions

logger = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "gpu")

DECODE_PARAMS = nvimgcodec.DecodeParams(
    apply_exif_orientation=True,
    color_spec=nvimgcodec.ColorSpec.SRGB,
    allow_any_depth=False,  # scale 16-bit samples to 8-bit
    sample_format=nvimgcodec.SampleFormat.I_RGB,  # drops alpha, expands gray and palette
)

_CODEC_NAMES = {"jpeg": "jpeg", "png": "png", "webp": "webp", "tiff": "tiff"}


def _cpu_kwargs() -> dict[str, object]:
    return {
        "device_id": nvimgcodec.NVIMGCODEC_DEVICE_CPU_ONLY,
        "backends": [nvimgcodec.Backend(nvimgcodec.BackendKind.CPU_ONLY)],
    }


def _create(factory: type, device: str) -> tuple[object, str]:
    """Instantiate ``factory`` (Decoder or Encoder) for ``device``; returns it and a label."""
    if device not in DEVICES:
        raise InvalidOptionError(f"device must be one of {list(DEVICES)}, got {device!r}")
    if device != "cpu":
        try:
            return factory(), "nvimgcodec-gpu"
        except RuntimeError as exc:  # e.g. "CUDA Runtime failure: '#35'" without a GPU
            if device == "gpu":
                raise DeviceUnavailableError(f"nvImageCodec cannot use a GPU: {exc}") from exc
            logger.info("nvImageCodec has no GPU (%s); using its CPU backend", exc)
    return factory(**_cpu_kwargs()), "nvimgcodec-cpu"


def create_decoder(device: str) -> tuple[nvimgcodec.Decoder, str]:
    """A decoder for "cpu", "gpu" or "auto" (GPU when one can be used), with its backend label."""
    return _create(nvimgcodec.Decoder, device)


def create_encoder(device: str) -> tuple[nvimgcodec.Encoder, str]:
    """An encoder for "cpu", "gpu" or "auto", with its backend label."""
    return _create(nvimgcodec.Encoder, device)


def code_stream(data: bytes) -> nvimgcodec.CodeStream | None:
    """Parse ``data``'s header with nvImageCodec; None where it cannot (the caller falls back)."""
    try:
        stream = nvimgcodec.CodeStream(data)
        # The header is parsed lazily: read a field so that a bad one raises here.
        channels = stream.num_channels
    except RuntimeError as exc:
        logger.debug("nvImageCodec cannot parse the stream: %s", exc)
        return None
    return stream if channels > 0 else None


def to_pixels(image: object | None) -> np.ndarray | None:
    """Host HxWx3 uint8 pixels of a decoded nvimgcodec.Image; None for a failed decode."""
    if image is None:
        return None
    pixels = np.asarray(image.cpu())  # type: ignore[attr-defined]
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        logger.warning("nvImageCodec returned shape %s dtype %s", pixels.shape, pixels.dtype)
        return None
    return np.ascontiguousarray(pixels)


def encode_params(options: EncodeOptions) -> tuple[str, nvimgcodec.EncodeParams] | None:
    """nvImageCodec codec name and parameters for ``options``; None where it cannot encode them."""
    codec = _CODEC_NAMES.get(options.format)
    if codec is None:  # jp2, j2k: Pillow does better, see the module docstring
        return None
    quality = nvimgcodec.QualityType
    if options.format in {"png", "tiff"}:  # lossless formats, the encoder's default settings
        return codec, nvimgcodec.EncodeParams()
    if options.lossless:
        return codec, nvimgcodec.EncodeParams(quality_type=quality.LOSSLESS)
    return codec, nvimgcodec.EncodeParams(
        quality_type=quality.QUALITY, quality_value=options.quality
    )
