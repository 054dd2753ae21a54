from __future__ import annotations

import pytest

from imaging import errors
from imaging.errors import ImageError, ImageTooLargeError

SUBCLASSES = [
    (errors.EmptyImageError, "empty_image"),
    (errors.UnsupportedFormatError, "unsupported_format"),
    (errors.CorruptImageError, "corrupt_image"),
    (errors.ImageTooLargeError, "image_too_large"),
    (errors.InvalidOptionError, "invalid_option"),
    (errors.InvalidArrayError, "invalid_array"),
    (errors.DeviceUnavailableError, "device_unavailable"),
    (errors.EncodeError, "encode_failed"),
]


@pytest.mark.parametrize(("cls", "code"), SUBCLASSES)
def test_every_error_is_an_image_error_with_its_code(cls: type[ImageError], code: str) -> None:
    error = cls("what went wrong")
    assert isinstance(error, ImageError)
    assert error.code == code
    assert error.message == "what went wrong" == str(error)


def test_codes_are_unique() -> None:
    codes = [code for _, code in SUBCLASSES]
    assert len(set(codes)) == len(codes)


def test_too_large_message_names_size_and_limit() -> None:
    error = ImageTooLargeError.for_size(60000, 60000, 40_000_000)
    assert str(error) == "image is 60000x60000 = 3600000000 pixels, above the limit of 40000000"
