"""The `process` model's bookkeeping: encode every output of a chain and describe them. No Triton."""

from __future__ import annotations

from contracts.metadata import EncodedOutput, ProcessMetadata, ProcessOutputImage
from imaging.codec import JPEG2000_FORMATS, DecodedImage, EncodeOptions, ImageEncoder
from imaging.errors import InvalidOptionError
from imaging.formats import CONTENT_TYPES
from imaging.jpeg2000 import Encoded, check_resolutions
from python_models.chain import Piece, planned_sizes
from python_models.metadata import input_image
from python_models.operation_specs import Step

DEFAULT_OPERATIONS = '[{"op": "anonymize"}]'  # no `operations` parameter: do what `pipeline` does


def check_chain(steps: list[Step], options: EncodeOptions, width: int, height: int) -> None:
    """Everything the chain and its encoding could refuse for a width x height image, before any
    pixel is touched: each step against the size it will see, and the outputs' encoding."""
    for output_width, output_height in planned_sizes(steps, width, height):
        if options.format in JPEG2000_FORMATS:
            try:
                check_resolutions(options, output_width, output_height)
            except InvalidOptionError as exc:
                raise InvalidOptionError(f"output {output_width}x{output_height}: {exc}") from None


def encode_pieces(pieces: list[Piece], options: EncodeOptions, encoder: ImageEncoder) -> list[Encoded]:
    """Each output encoded, with the backend that did it (recorded in METADATA)."""
    return [encoder.encode_native(piece.pixels, options) for piece in pieces]


def describe_outputs(
    decoded: DecodedImage,
    steps: list[Step],
    pieces: list[Piece],
    encoded: list[Encoded],
    options: EncodeOptions,
    version: str,
) -> ProcessMetadata:
    """METADATA: the input, the steps, and each output image in RESULT's order."""
    outputs = [
        ProcessOutputImage(
            index=index,
            width=int(piece.pixels.shape[1]),
            height=int(piece.pixels.shape[0]),
            bytes=len(item.data),
            encoder=item.backend,
            tiles=list(piece.tiles),
            anonymized=list(piece.anonymized),
        )
        for index, (piece, item) in enumerate(zip(pieces, encoded, strict=True))
    ]
    versions = {"process": version}
    for piece in pieces:
        for record in piece.anonymized:
            versions |= record["versions"]
    output = EncodedOutput(
        format=options.format,
        content_type=CONTENT_TYPES[options.format],
        bytes=sum(len(item.data) for item in encoded),
        count=len(encoded),
        encoder=", ".join(sorted({item.backend for item in encoded})),
    )
    return ProcessMetadata(
        **input_image(decoded), operations=[step.describe() for step in steps], outputs=outputs, output=output, versions=versions
    )
