"""One transcode: encoded bytes -> native pixels -> encoded bytes, and the METADATA that records it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from contracts.metadata import ColorProfile, EncodedOutput, TranscodeMetadata
from imaging.codec import ImageDecoder, ImageEncoder
from imaging.formats import CONTENT_TYPES
from imaging.native import fit_to_format
from imaging.options import output_options, parse_reduce


def transcode(
    data: bytes, parameters: Mapping[str, object], decoder: ImageDecoder, encoder: ImageEncoder, version: str
) -> tuple[bytes, TranscodeMetadata]:
    """Decode at stored depth (optionally reduced), encode as the parameters ask: the encoded bytes
    and `transcode`'s METADATA (``version``: the model version that served it).

    Raises the ImageError subclass that names a bad input or option.
    """
    reduce = parse_reduce(parameters)
    image = decoder.decode_native(data, reduce=reduce)
    options = output_options(parameters, image.source_format)
    pixels = fit_to_format(image.pixels, options.format)  # what the output format can hold
    encoded = encoder.encode_native(pixels, options)
    metadata = TranscodeMetadata(
        width=image.width,
        height=image.height,
        format=image.source_format,
        bits=image.bits,
        channels=image.channels,
        decoder=image.backend,
        encoder=encoded.backend,
        reduce=reduce,
        reduce_method=image.reduce_method,
        frames=1,  # several frames or pages are refused (imaging.fidelity)
        output=EncodedOutput(
            format=options.format,
            content_type=CONTENT_TYPES[options.format],
            bytes=len(encoded.data),
            bits=8 * pixels.itemsize,
            channels=int(pixels.shape[2]),
        ),
        versions={"transcode": version},
    )
    if image.color is not None:
        metadata["color"] = cast(ColorProfile, image.color)  # built by imaging.color in that shape
    return encoded.data, metadata
