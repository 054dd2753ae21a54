"""JPEG 2000 through libopenjp2 itself (ctypes): the decoder for subsampled components.

A codestream may store a component at 1/XRsiz x 1/YRsiz of the reference grid (ISO/IEC 15444-1
SIZ). Measured with nvImageCodec 0.9, Pillow 13 and OpenCV 4.11 on
``glymur.Jp2k(path, data=astronaut, subsam=(2, 2))`` (grid 1023x1023, components 512x512):
nvImageCodec and OpenCV refuse it and Pillow returns a sheared 1023x1023 picture. OpenJPEG's own
API decodes each component at its own size, exactly as glymur does. This module calls the
libopenjp2 that Pillow's wheel bundles (or the system's), from memory, and assembles the
components: each is repeated up to the largest component's size (nearest sample, no invented
values); sYCC (labelled, or a bare codestream with subsampled chroma) is converted to RGB. Where
no libopenjp2 can be loaded the file is refused (:class:`NoDecoderError`, ``corrupt_image``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from imaging.errors import CorruptImageError, UnsupportedFormatError
from imaging.jpeg2000_header import codestream

logger = logging.getLogger(__name__)

_CODEC_J2K, _CODEC_JP2 = 0, 2
_CLRSPC_UNKNOWN, _CLRSPC_UNSPECIFIED = -1, 0
_CLRSPC_SYCC, _CLRSPC_EYCC, _CLRSPC_CMYK = 3, 4, 5
_DPARAMETERS_BYTES = 1 << 14  # opj_dparameters_t is about 8.3 KB in OpenJPEG 2.x: opaque here
_STREAM_CHUNK = 1 << 20
_SIZ_MARKER = 0xFF51


class NoDecoderError(CorruptImageError):
    """A valid file that no decoder available here decodes faithfully (``corrupt_image``, 422)."""


@dataclass(frozen=True)
class Sampling:
    """Per component (XRsiz, YRsiz) and the size each component decodes to (SIZ segment)."""

    factors: tuple[tuple[int, int], ...]
    sizes: tuple[tuple[int, int], ...]  # (width, height) per component

    @property
    def subsampled(self) -> bool:
        return any(factor != (1, 1) for factor in self.factors)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the decoded picture: the largest component's."""
        return max(width for width, _ in self.sizes), max(height for _, height in self.sizes)


def read_sampling(data: bytes) -> Sampling:
    """The component sampling of a .jp2/.j2k from its SIZ segment (which must follow SOC).

    Raises CorruptImageError for a missing or truncated SIZ or a zero sampling factor.
    """
    stream = codestream(data)
    try:
        marker, _, _, xsiz, ysiz, x_offset, y_offset = struct.unpack(">HHHIIII", stream[2:24])
        (count,) = struct.unpack(">H", stream[40:42])
        raw = bytes(stream[42 : 42 + 3 * count])
    except struct.error as exc:
        raise CorruptImageError(f"JPEG 2000 SIZ segment is truncated: {exc}") from exc
    if marker != _SIZ_MARKER or len(raw) != 3 * count or count == 0:
        raise CorruptImageError("JPEG 2000 codestream lacks a complete SIZ segment after SOC")
    factors = tuple((raw[3 * index + 1], raw[3 * index + 2]) for index in range(count))
    if any(dx == 0 or dy == 0 for dx, dy in factors):
        raise CorruptImageError("JPEG 2000 SIZ segment gives a component a sampling factor of 0")
    sizes = tuple(
        (-(-xsiz // dx) - -(-x_offset // dx), -(-ysiz // dy) - -(-y_offset // dy)) for dx, dy in factors
    )
    return Sampling(factors, sizes)


class _ImageComp(ctypes.Structure):
    _fields_ = [
        ("dx", ctypes.c_uint32), ("dy", ctypes.c_uint32), ("w", ctypes.c_uint32), ("h", ctypes.c_uint32),
        ("x0", ctypes.c_uint32), ("y0", ctypes.c_uint32), ("prec", ctypes.c_uint32), ("bpp", ctypes.c_uint32),
        ("sgnd", ctypes.c_uint32), ("resno_decoded", ctypes.c_uint32), ("factor", ctypes.c_uint32),
        ("data", ctypes.POINTER(ctypes.c_int32)), ("alpha", ctypes.c_uint16),
    ]  # fmt: skip


class _Image(ctypes.Structure):
    _fields_ = [
        ("x0", ctypes.c_uint32), ("y0", ctypes.c_uint32), ("x1", ctypes.c_uint32), ("y1", ctypes.c_uint32),
        ("numcomps", ctypes.c_uint32), ("color_space", ctypes.c_int), ("comps", ctypes.POINTER(_ImageComp)),
        ("icc_profile_buf", ctypes.c_void_p), ("icc_profile_len", ctypes.c_uint32),
    ]  # fmt: skip


_READ_FN = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
_SKIP_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
_SEEK_FN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p)
_MESSAGE_FN = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_void_p)


def _candidate_paths() -> list[str]:
    import PIL

    bundled = os.path.join(os.path.dirname(PIL.__file__), os.pardir, "pillow.libs", "libopenjp2*.so*")
    system = ctypes.util.find_library("openjp2")
    return sorted(glob.glob(bundled)) + ([system] if system else [])


@functools.cache
def library_path() -> str | None:
    """The libopenjp2 to use: Pillow's bundled copy first, then the system's; None if neither loads."""
    for path in _candidate_paths():
        try:
            ctypes.CDLL(path)
        except OSError:
            continue
        return path
    logger.warning("no libopenjp2 found: subsampled JPEG 2000 will be refused")
    return None


@functools.cache
def load_library() -> ctypes.CDLL | None:
    """libopenjp2 with this module's function signatures (a handle of its own); None if absent."""
    path = library_path()
    if path is None:
        return None
    library = ctypes.CDLL(path)
    _declare(library)
    logger.info("OpenJPEG %s loaded from %s", library.opj_version().decode(), path)
    return library


def _declare(lib: ctypes.CDLL) -> None:
    pointer = ctypes.c_void_p
    signatures: dict[str, tuple[object, list[object]]] = {
        "opj_version": (ctypes.c_char_p, []),
        "opj_create_decompress": (pointer, [ctypes.c_int]),
        "opj_destroy_codec": (None, [pointer]),
        "opj_set_default_decoder_parameters": (None, [pointer]),
        "opj_setup_decoder": (ctypes.c_int32, [pointer, pointer]),
        "opj_set_error_handler": (ctypes.c_int32, [pointer, _MESSAGE_FN, pointer]),
        "opj_stream_create": (pointer, [ctypes.c_size_t, ctypes.c_int32]),
        "opj_stream_destroy": (None, [pointer]),
        "opj_stream_set_read_function": (None, [pointer, _READ_FN]),
        "opj_stream_set_skip_function": (None, [pointer, _SKIP_FN]),
        "opj_stream_set_seek_function": (None, [pointer, _SEEK_FN]),
        "opj_stream_set_user_data_length": (None, [pointer, ctypes.c_uint64]),
        "opj_read_header": (ctypes.c_int32, [pointer, pointer, ctypes.POINTER(ctypes.POINTER(_Image))]),
        "opj_decode": (ctypes.c_int32, [pointer, pointer, ctypes.POINTER(_Image)]),
        "opj_end_decompress": (ctypes.c_int32, [pointer, pointer]),
        "opj_image_destroy": (None, [ctypes.POINTER(_Image)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes


class _MemoryStream:
    """The read/skip/seek callbacks of an opj_stream_t over bytes (kept alive while decoding)."""

    def __init__(self, data: bytes) -> None:
        self.buffer = ctypes.create_string_buffer(data, len(data))
        self.size, self.position = len(data), 0
        self.read, self.skip, self.seek = _READ_FN(self._read), _SKIP_FN(self._skip), _SEEK_FN(self._seek)

    def _read(self, target: int, count: int, _: int) -> int:
        count = min(count, self.size - self.position)
        if count <= 0:
            return ctypes.c_size_t(-1).value  # OpenJPEG's end-of-stream
        ctypes.memmove(target, ctypes.addressof(self.buffer) + self.position, count)
        self.position += count
        return count

    def _skip(self, count: int, _: int) -> int:
        moved = max(-self.position, min(count, self.size - self.position))
        self.position += moved
        return moved

    def _seek(self, offset: int, _: int) -> int:
        if not 0 <= offset <= self.size:
            return 0
        self.position = offset
        return 1


def decode_components(data: bytes, container: str) -> tuple[np.ndarray, int]:
    """(HxWxC samples, bits per sample) of a .jp2 (``container`` "jp2") or .j2k.

    C is 1-4 (gray, gray+alpha, RGB, RGBA); uint8 for up to 8 bits, else uint16 as stored.

    Components smaller than the largest are repeated up to its size; sYCC becomes RGB; signed
    samples are shifted to unsigned. NoDecoderError (422) where no libopenjp2 is available;
    UnsupportedFormatError for CMYK / e-YCC colour; CorruptImageError when OpenJPEG fails.
    """
    lib = load_library()
    if lib is None:
        raise NoDecoderError(
            f"{container} with subsampled components needs libopenjp2, which is not installed here; "
            "refused rather than decoded wrongly by another decoder"
        )
    errors: list[str] = []
    report = _MESSAGE_FN(lambda message, _: errors.append(message.decode(errors="replace").strip()))
    stream_source = _MemoryStream(data)
    codec = lib.opj_create_decompress(_CODEC_JP2 if container == "jp2" else _CODEC_J2K)
    stream = lib.opj_stream_create(_STREAM_CHUNK, 1)
    image = ctypes.POINTER(_Image)()
    try:
        _open(lib, codec, stream, stream_source, report)
        ok = lib.opj_read_header(stream, codec, ctypes.byref(image))
        ok = ok and lib.opj_decode(codec, stream, image) and lib.opj_end_decompress(codec, stream)
        if not ok:
            raise CorruptImageError(f"{container} data is truncated or corrupt: {'; '.join(errors) or 'OpenJPEG failed'}")
        return _assemble(image.contents)
    finally:
        if image:
            lib.opj_image_destroy(image)
        lib.opj_stream_destroy(stream)
        lib.opj_destroy_codec(codec)


def _open(lib: ctypes.CDLL, codec: int, stream: int, source: _MemoryStream, report: Callable[..., None]) -> None:
    parameters = ctypes.create_string_buffer(_DPARAMETERS_BYTES)
    lib.opj_set_default_decoder_parameters(parameters)
    lib.opj_set_error_handler(codec, report, None)
    if not lib.opj_setup_decoder(codec, parameters):
        raise CorruptImageError("OpenJPEG refused its decoder parameters")
    lib.opj_stream_set_read_function(stream, source.read)
    lib.opj_stream_set_skip_function(stream, source.skip)
    lib.opj_stream_set_seek_function(stream, source.seek)
    lib.opj_stream_set_user_data_length(stream, source.size)


def _assemble(image: _Image) -> tuple[np.ndarray, int]:
    if image.color_space in (_CLRSPC_EYCC, _CLRSPC_CMYK) or not 1 <= image.numcomps <= 4:
        raise UnsupportedFormatError(
            f"JPEG 2000 with {image.numcomps} components in colour space {image.color_space} is not supported"
        )
    components = [image.comps[index] for index in range(image.numcomps)]
    width, height = max(comp.w for comp in components), max(comp.h for comp in components)
    bits = max(comp.prec for comp in components)
    if not 1 <= bits <= 16:
        raise UnsupportedFormatError(f"JPEG 2000 with {bits}-bit samples is not supported (1-16)")
    dtype = np.uint8 if bits <= 8 else np.uint16
    planes = [_plane(comp, width, height, dtype) for comp in components]
    if _is_sycc(image.color_space, components):
        planes[:3] = _sycc_to_rgb(planes[:3], bits)
    return np.ascontiguousarray(np.stack(planes, axis=2)), bits


def _is_sycc(color_space: int, components: list[_ImageComp]) -> bool:
    """sYCC as labelled (a JP2 colr box), or, unlabelled (a bare .j2k), three components whose
    second is sampled more coarsely than the first: chroma subsampling, as opj_decompress guesses."""
    if color_space == _CLRSPC_SYCC:
        return len(components) >= 3
    if color_space not in (_CLRSPC_UNKNOWN, _CLRSPC_UNSPECIFIED) or len(components) != 3:
        return False
    first, second = components[0], components[1]
    return (first.dx, first.dy) != (second.dx, second.dy) and first.dx <= second.dx and first.dy <= second.dy


def _plane(comp: _ImageComp, width: int, height: int, dtype: type) -> np.ndarray:
    """One component as HxW ``dtype`` at the picture's size, unsigned, repeated where subsampled."""
    if comp.w == 0 or comp.h == 0 or not comp.data or not 1 <= comp.prec <= 16:
        raise CorruptImageError(f"JPEG 2000 component decoded to no samples ({comp.w}x{comp.h}, {comp.prec} bits)")
    samples = np.ctypeslib.as_array(comp.data, shape=(comp.h * comp.w,)).reshape(comp.h, comp.w)
    if comp.sgnd:
        samples = samples.astype(np.int64) + (1 << (comp.prec - 1))
    samples = np.clip(samples, 0, (1 << comp.prec) - 1).astype(dtype)
    rows, cols = -(-height // comp.h), -(-width // comp.w)
    if (rows, cols) == (1, 1):
        return samples
    return np.repeat(np.repeat(samples, rows, axis=0), cols, axis=1)[:height, :width]


def _sycc_to_rgb(planes: list[np.ndarray], bits: int) -> list[np.ndarray]:
    """Full-range YCbCr (ITU-R BT.601, as JFIF and OpenJPEG's opj_decompress use) to RGB."""
    top, centre = (1 << bits) - 1, 1 << (bits - 1)
    dtype = planes[0].dtype
    luma, blue, red = (plane.astype(np.float32) for plane in planes)
    blue -= centre
    red -= centre
    rgb = (luma + 1.402 * red, luma - 0.344136 * blue - 0.714136 * red, luma + 1.772 * blue)
    return [np.clip(np.rint(channel), 0, top).astype(dtype) for channel in rgb]
