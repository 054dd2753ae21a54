"""tritonclient's exceptions, as the real server words them, become the gateway's typed errors."""

from __future__ import annotations

import pytest
from tritonclient.utils import InferenceServerException

from gateway.core.errors import BusyError, InferenceError, InferenceTimeoutError, TritonUnavailableError
from gateway.inference.triton import translate
from imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageTooLargeError,
    InvalidOptionError,
    UnsupportedFormatError,
)


@pytest.mark.parametrize(
    ("message", "status", "expected"),
    [
        ("in ensemble 'pipeline', corrupt_image: jpeg data is truncated", "StatusCode.INVALID_ARGUMENT", CorruptImageError),
        ("empty_image: image data is empty (0 bytes)", "StatusCode.INVALID_ARGUMENT", EmptyImageError),
        ("in ensemble 'pipeline', unsupported_format: a GIF image", "StatusCode.INVALID_ARGUMENT", UnsupportedFormatError),
        ("image_too_large: 60000x60000 pixels", "StatusCode.INVALID_ARGUMENT", ImageTooLargeError),
        ("invalid_option: quality must be 1-100, got 0", "StatusCode.INVALID_ARGUMENT", InvalidOptionError),
        ("Exceeds maximum queue size", "StatusCode.UNAVAILABLE", BusyError),
        ("failed to connect to all addresses", "StatusCode.UNAVAILABLE", TritonUnavailableError),
        ("Deadline Exceeded", "StatusCode.DEADLINE_EXCEEDED", InferenceTimeoutError),
        ("Request for unknown model: 'pipelin' is not found", "StatusCode.NOT_FOUND", InferenceError),
    ],
)
def test_messages_map_to_typed_errors(message: str, status: str, expected: type[Exception]) -> None:
    error = translate(InferenceServerException(message, status))
    assert type(error) is expected
    assert str(error)


def test_image_errors_keep_the_text_after_the_code() -> None:
    error = translate(InferenceServerException("in ensemble 'pipeline', corrupt_image: bad huffman table", "x"))
    assert str(error) == "bad huffman table"
