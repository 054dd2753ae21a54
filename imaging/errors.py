"""The one exception family raised by the imaging package.

Every failure carries a stable machine-readable ``code`` and a message that names the problem
precisely; the edge (gateway, Triton models) maps the class to an HTTP status or a TritonError.
The codes are the contract's (:mod:`contracts.errors`).
"""

from __future__ import annotations

from contracts import errors as codes


class ImageError(Exception):
    """Root of every error raised by :mod:`imaging`."""

    code: str = codes.IMAGE_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyImageError(ImageError):
    """The request carried zero bytes."""

    code = codes.EMPTY_IMAGE


class UnsupportedFormatError(ImageError):
    """The bytes are not one of the image formats this package reads (or writes)."""

    code = codes.UNSUPPORTED_FORMAT


class CorruptImageError(ImageError):
    """A recognised format whose data is truncated or garbled."""

    code = codes.CORRUPT_IMAGE


class ImageTooLargeError(ImageError):
    """The header announces more pixels than the configured limit."""

    code = codes.IMAGE_TOO_LARGE

    @classmethod
    def for_size(cls, width: int, height: int, max_pixels: int) -> ImageTooLargeError:
        return cls(
            f"image is {width}x{height} = {width * height} pixels, above the limit of {max_pixels}"
        )


class InvalidOptionError(ImageError):
    """A caller-supplied option (quality, format, blur kind, device...) is out of range."""

    code = codes.INVALID_OPTION


class InvalidArrayError(ImageError):
    """An array handed to a function has the wrong shape, dtype or values (a caller bug)."""

    code = codes.INVALID_ARRAY


class DeviceUnavailableError(ImageError):
    """``device="gpu"`` was requested but nvImageCodec cannot use a GPU here."""

    code = codes.DEVICE_UNAVAILABLE


class EncodeError(ImageError):
    """Every available encoder failed on valid pixels."""

    code = codes.ENCODE_FAILED
