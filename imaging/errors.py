"""The one exception family raised by the imaging package.

Every failure carries a stable machine-readable ``code`` and a message that names the problem
precisely; the edge (gateway, Triton models) maps the class to an HTTP status or a TritonError.
"""

from __future__ import annotations


class ImageError(Exception):
    """Root of every error raised by :mod:`imaging`."""

    code: str = "image_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyImageError(ImageError):
    """The request carried zero bytes."""

    code = "empty_image"


class UnsupportedFormatError(ImageError):
    """The bytes are not one of the image formats this package reads (or writes)."""

    code = "unsupported_format"


class CorruptImageError(ImageError):
    """A recognised format whose data is truncated or garbled."""

    code = "corrupt_image"


class ImageTooLargeError(ImageError):
    """The header announces more pixels than the configured limit."""

    code = "image_too_large"

    @classmethod
    def for_size(cls, width: int, height: int, max_pixels: int) -> ImageTooLargeError:
        return cls(
            f"image is {width}x{height} = {width * height} pixels, above the limit of {max_pixels}"
        )


class InvalidOptionError(ImageError):
    """A caller-supplied option (quality, format, blur kind, device...) is out of range."""

    code = "invalid_option"


class InvalidArrayError(ImageError):
    """An array handed to a function has the wrong shape, dtype or values (a caller bug)."""

    code = "invalid_array"


class DeviceUnavailableError(ImageError):
    """``device="gpu"`` was requested but nvImageCodec cannot use a GPU here."""

    code = "device_unavailable"


class EncodeError(ImageError):
    """Every available encoder failed on valid pixels."""

    code = "encode_failed"
