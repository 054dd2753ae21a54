"""Bounds-checked reads for the header validators (:mod:`imaging.validate_header`).

Every read names what it was after, so a header that ends too early is refused as
``corrupt_image: <format> header is truncated: <what>``; the validators never index past the data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from imaging.errors import CorruptImageError


class HeaderTruncatedError(CorruptImageError):
    """The data ends before the header does (also raised for a prefix of a longer file: the
    gateway checks only the first megabyte of an upload and leaves the rest to the models)."""


@dataclass(frozen=True)
class Header:
    """What a validator learned: the stored size and the fewest bytes that can encode it.

    ``min_bytes``: a lower bound on the compressed size of the pixels the header claims (0 where
    the format has no useful bound); the reason is named in ``bound`` for the error message.
    """

    width: int
    height: int
    min_bytes: int = 0
    bound: str = ""


class Bytes:
    """Big- or little-endian unsigned reads over ``data`` that raise HeaderTruncatedError, or,
    for a ``block`` read whole from a longer file (a marker segment, a chunk), CorruptImageError:
    a field running past its own block is garbled, not cut short."""

    def __init__(self, data: bytes | memoryview, fmt: str, little: bool = False, block: bool = False) -> None:
        self.data = memoryview(data)
        self.fmt = fmt
        self.order = "<" if little else ">"
        self.block = block

    def __len__(self) -> int:
        return len(self.data)

    def fail(self, problem: str) -> CorruptImageError:
        return CorruptImageError(f"{self.fmt} {problem}")

    def past_end(self, problem: str) -> CorruptImageError:
        """``problem`` (something the header points at lies past the data) as the right error:
        HeaderTruncatedError for a file (the data may be its first bytes), corruption in a block."""
        return self.fail(problem) if self.block else HeaderTruncatedError(f"{self.fmt} {problem}")

    def need(self, offset: int, size: int, what: str) -> None:
        if offset < 0 or size < 0 or offset + size > len(self.data):
            if self.block:
                raise self.fail(f"block of {len(self.data)} bytes is too short for {what} (bytes {offset}-{offset + size})")
            raise HeaderTruncatedError(f"{self.fmt} header is truncated: {what} needs bytes {offset}-{offset + size} of {len(self.data)}")

    def take(self, offset: int, size: int, what: str) -> bytes:
        self.need(offset, size, what)
        return bytes(self.data[offset : offset + size])

    def u8(self, offset: int, what: str) -> int:
        self.need(offset, 1, what)
        return self.data[offset]

    def u16(self, offset: int, what: str) -> int:
        self.need(offset, 2, what)
        return int(struct.unpack_from(self.order + "H", self.data, offset)[0])

    def u32(self, offset: int, what: str) -> int:
        self.need(offset, 4, what)
        return int(struct.unpack_from(self.order + "I", self.data, offset)[0])

    def u64(self, offset: int, what: str) -> int:
        self.need(offset, 8, what)
        return int(struct.unpack_from(self.order + "Q", self.data, offset)[0])
