"""Batched decode -> blur -> encode on one GPU, the pixels never leaving it (nvImageCodec, torch, DLPack).

:class:`GpuCodec` checks every payload's header the way :class:`imaging.codec.ImageDecoder` does
(``inspect``: :func:`imaging.validate_image.check_image`'s size limit, header and frame checks), decodes the whole batch
in one nvImageCodec call (nvJPEG, nvJPEG2000) into device memory, and hands each image to torch
through DLPack (``torch.from_dlpack``: a view, no copy). :func:`anonymise_batch` blurs the boxes
on those tensors (:func:`imaging.gpu_blur.blur_regions_tensor`) and encodes the batch from
device memory (``nvimgcodec.as_images``): only the encoded bytes reach the host.

Fail closed: what this path cannot decode as the CPU path would is refused, never approximated:
formats other than JPEG and JPEG 2000, alpha, an embedded ICC profile (the CPU path converts it
to sRGB), subsampled JPEG 2000 components (UnsupportedFormatError naming the image's index), and
a payload nvImageCodec fails on (CorruptImageError); the whole batch is refused rather than
answered short. Output formats: JPEG (nvJPEG). Built against nvImageCodec 0.9's Python
documentation; its tests are `gpu`-marked and have not run on a GPU yet (README "GPU hosts").
It is not yet what the served models call (they pass numpy arrays between ensemble steps);
perf/device_run.py measures it as the GPU-resident rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from nvidia import nvimgcodec

from imaging.codec import ImageDecoder
from imaging.errors import CorruptImageError, EncodeError, InvalidOptionError, UnsupportedFormatError
from imaging.fidelity import read_facts
from imaging.gpu_blur import blur_regions_tensor
from imaging.nvimgcodec_backend import DECODE_PARAMS, code_stream, create_decoder, create_encoder, encode_params
from imaging.options import EncodeOptions

GPU_DECODE_FORMATS = ("jpeg", "jp2", "j2k")
GPU_ENCODE_FORMATS = ("jpeg",)


class GpuCodec:
    """Build once per process; DeviceUnavailableError when nvImageCodec finds no GPU."""

    def __init__(self, max_pixels: int = 100_000_000) -> None:
        self._checks = ImageDecoder(max_pixels=max_pixels, device="cpu")  # header checks only
        self._decoder, _ = create_decoder("gpu")
        self._encoder, _ = create_encoder("gpu")

    def decode(self, payloads: Sequence[bytes]) -> list[torch.Tensor]:
        """HxWx3 uint8 RGB CUDA tensors (EXIF orientation applied), one per payload, in order.
        Raises the ImageError subclass of the first payload refused, naming its index."""
        streams = [self._stream(index, data) for index, data in enumerate(payloads)]
        images = self._decoder.decode(streams, params=DECODE_PARAMS) if streams else []
        tensors = []
        for index, image in enumerate(images):
            if image is None:
                raise CorruptImageError(f"image {index}: nvImageCodec could not decode it on the GPU")
            tensor = torch.from_dlpack(image)
            if tensor.ndim != 3 or tensor.shape[2] != 3 or tensor.dtype != torch.uint8:
                raise CorruptImageError(f"image {index}: decoded to {tuple(tensor.shape)} {tensor.dtype}, not HxWx3 uint8")
            tensors.append(tensor)
        return tensors

    def _stream(self, index: int, data: bytes) -> object:
        fmt = self._checks.inspect(data)
        if fmt not in GPU_DECODE_FORMATS:
            raise UnsupportedFormatError(f"image {index}: the GPU path decodes {list(GPU_DECODE_FORMATS)}, got {fmt}")
        facts = read_facts(data, fmt)
        if facts.alpha or facts.icc_profile or facts.subsampled:
            raise UnsupportedFormatError(f"image {index}: alpha, an ICC profile or subsampled components need the CPU path")
        stream = code_stream(data)
        if stream is None:
            raise CorruptImageError(f"image {index}: nvImageCodec cannot parse its header")
        return stream

    def encode(self, tensors: Sequence[torch.Tensor], options: EncodeOptions) -> list[bytes]:
        """Encode CUDA HxWx3 uint8 tensors in one call; InvalidOptionError for a format other
        than JPEG, EncodeError when nvImageCodec returns nothing for an image."""
        if options.format not in GPU_ENCODE_FORMATS:
            raise InvalidOptionError(f"the GPU path encodes {list(GPU_ENCODE_FORMATS)}, got {options.format!r}")
        codec, params = encode_params(options) or (None, None)
        if codec is None:
            raise InvalidOptionError(f"nvImageCodec cannot encode {options}")
        images = nvimgcodec.as_images([tensor.contiguous() for tensor in tensors])
        encoded = self._encoder.encode(images, codec, params=params) if images else []
        if any(item is None for item in encoded):
            raise EncodeError("nvImageCodec returned no bytes for an image of the batch")
        return [bytes(item) for item in encoded]


def anonymise_batch(
    codec: GpuCodec,
    payloads: Sequence[bytes],
    boxes: Sequence[np.ndarray],
    options: EncodeOptions,
    *,
    kind: str = "gaussian",
    strength: float = 1.0,
) -> list[bytes]:
    """Decode ``payloads``, blur each image's [N,4] x1,y1,x2,y2 ``boxes`` (pixels), encode: all on
    the GPU. ValueError when there are not as many box arrays as payloads."""
    if len(boxes) != len(payloads):
        raise ValueError(f"{len(payloads)} payloads but {len(boxes)} box arrays")
    tensors = codec.decode(payloads)
    blurred = [blur_regions_tensor(tensor, regions, kind=kind, strength=strength) for tensor, regions in zip(tensors, boxes, strict=True)]
    return codec.encode(blurred, options)
