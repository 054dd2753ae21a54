"""Decode faithfully or refuse: subsampled JPEG 2000, frames, alpha, float samples, junk EXIF, ICC.

Each input is built here; each case asserts the decoded pixels against a reference (exact, or
within a stated tolerance for lossy JPEG) or the named refusal.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

import imaging.codec
import imaging.openjpeg
from imaging.codec import ImageDecoder
from imaging.errors import CorruptImageError, ImageError
from imaging.fidelity import DecodedSizeError, FrameCountError, SampleRangeError, check_size, load_upright
from imaging.openjpeg import NoDecoderError, decode_components, read_sampling
from tests.imaging.conftest import pillow_bytes
from tests.imaging.icc import display_p3
from tests.photos import photo_pixels
from tests.subsampled_jp2 import glymur_decode, subsampled_jpeg2000, ycc420_jpeg2000

JUNK_EXIF = b"Exif\x00\x00garbage-garbage-garbage"


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return photo_pixels("astronaut.png")


@pytest.mark.parametrize("suffix", [".jp2", ".j2k"])
def test_subsampled_jpeg2000_decodes_like_glymur(decoder: ImageDecoder, astronaut: np.ndarray, suffix: str) -> None:
    data = subsampled_jpeg2000(astronaut, suffix)
    assert read_sampling(data).factors == ((2, 2),) * 3 and read_sampling(data).size == (512, 512)
    decoded = decoder.decode(data)
    assert decoded.backend == "openjpeg"
    np.testing.assert_array_equal(decoded.pixels, glymur_decode(data, suffix))
    np.testing.assert_array_equal(decoded.pixels, astronaut)  # glymur wrote it losslessly
    native = decoder.decode_native(data)
    assert (native.backend, native.bits) == ("openjpeg", 8)
    np.testing.assert_array_equal(native.pixels, astronaut)


@pytest.mark.parametrize("suffix", [".jp2", ".j2k"])
def test_ycc_420_jpeg2000_is_upsampled_and_converted(decoder: ImageDecoder, astronaut: np.ndarray, suffix: str) -> None:
    """Y at full resolution, Cb and Cr at half: labelled sYCC in a .jp2, unlabelled in a .j2k."""
    data, expected = ycc420_jpeg2000(astronaut, suffix)
    assert read_sampling(data).factors == ((1, 1), (2, 2), (2, 2))
    decoded = decoder.decode(data)
    assert decoded.backend == "openjpeg"
    np.testing.assert_array_equal(decoded.pixels, expected)
    assert np.abs(decoded.pixels.astype(int) - astronaut).mean() < 2  # only the chroma halving lost


def test_subsampled_jpeg2000_reduced(decoder: ImageDecoder, astronaut: np.ndarray) -> None:
    image = decoder.decode_native(subsampled_jpeg2000(astronaut), reduce=1)
    assert image.pixels.shape == (256, 256, 3) and image.reduce_method == "resample"
    assert np.abs(image.pixels.astype(int) - astronaut[::2, ::2]).mean() < 8


def test_without_libopenjp2_a_subsampled_file_is_refused_by_name(
    decoder: ImageDecoder, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = subsampled_jpeg2000(astronaut)
    monkeypatch.setattr(imaging.openjpeg, "load_library", lambda: None)
    for decode in (decoder.decode, decoder.decode_native):
        with pytest.raises(NoDecoderError, match="jp2 with subsampled components needs libopenjp2") as caught:
            decode(data)
        assert caught.value.code == "corrupt_image"


def test_openjpeg_refuses_damaged_data(astronaut: np.ndarray) -> None:
    data = subsampled_jpeg2000(astronaut)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        decode_components(data[: len(data) // 3], "jp2")


def test_a_wrong_size_gives_way_to_the_next_decoder(
    decoder: ImageDecoder, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = imaging.codec.to_pixels
    monkeypatch.setattr(imaging.codec, "to_pixels", lambda image: real(image)[:, :-1].copy())
    decoded = decoder.decode(pillow_bytes(astronaut, "PNG"))
    assert decoded.backend == "pillow"
    np.testing.assert_array_equal(decoded.pixels, astronaut)
    monkeypatch.setattr(imaging.codec, "decode_pillow", lambda data, fmt: astronaut[:-3])
    with pytest.raises(DecodedSizeError, match="decoded by pillow to 512x509 but its header says 512x512") as caught:
        decoder.decode(pillow_bytes(astronaut, "PNG"))
    assert caught.value.code == "corrupt_image"


def test_check_size_accepts_the_exif_transpose() -> None:
    check_size(np.zeros((30, 20, 3), np.uint8), (20, 30), "jpeg", "pillow")
    check_size(np.zeros((20, 30, 3), np.uint8), (20, 30), "jpeg", "pillow")
    with pytest.raises(DecodedSizeError):
        check_size(np.zeros((20, 31, 3), np.uint8), (20, 30), "jpeg", "pillow")


def _animation(pillow_format: str, frames: list[np.ndarray], **options: object) -> bytes:
    images = [Image.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format=pillow_format, save_all=True, append_images=images[1:], **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("pillow_format", "options", "words"),
    [("WEBP", {"lossless": True}, "animated WebP with 3 frames"), ("PNG", {}, "animated PNG (APNG) with 3 frames"),
     ("TIFF", {}, "multi-page TIFF with 3 pages")],
)  # fmt: skip
def test_several_frames_are_refused_by_count(
    decoder: ImageDecoder, astronaut: np.ndarray, pillow_format: str, options: dict[str, object], words: str
) -> None:
    data = _animation(pillow_format, [astronaut, astronaut[::-1].copy(), astronaut[:, ::-1].copy()], **options)
    for decode in (decoder.decode, decoder.decode_native):
        with pytest.raises(FrameCountError, match=re.escape(words)) as caught:
            decode(data)
        assert caught.value.code == "unsupported_format" and caught.value.frames == 3
    single = decoder.decode(_animation(pillow_format, [astronaut], **options))
    np.testing.assert_array_equal(single.pixels, astronaut)


def test_tiff_thumbnails_are_not_pages(decoder: ImageDecoder, astronaut: np.ndarray) -> None:
    """A reduced-resolution directory (NewSubfileType 1) after the first shows the same picture."""
    import tifffile

    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        writer.write(astronaut, photometric="rgb")
        writer.write(np.ascontiguousarray(astronaut[::4, ::4]), photometric="rgb", subfiletype=1)
        writer.write(np.ascontiguousarray(astronaut[::-1]), photometric="rgb")  # a real second page
    with pytest.raises(FrameCountError, match="multi-page TIFF with 2 pages"):
        decoder.decode(buffer.getvalue())
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        writer.write(astronaut, photometric="rgb")
        writer.write(np.ascontiguousarray(astronaut[::4, ::4]), photometric="rgb", subfiletype=1)
    np.testing.assert_array_equal(decoder.decode(buffer.getvalue()).pixels, astronaut)


def _palette_with_transparency() -> tuple[bytes, np.ndarray]:
    """A 64x64 palette PNG: index 0 (magenta) fully transparent, index 1 (green) opaque square."""
    indices = np.zeros((64, 64), np.uint8)
    indices[16:48, 16:48] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 255, 10, 200, 10] + [0] * 762)
    return pillow_bytes(image, "PNG", transparency=0), indices


def test_palette_transparency_becomes_alpha(decoder: ImageDecoder) -> None:
    data, indices = _palette_with_transparency()
    decoded = decoder.decode(data)
    np.testing.assert_array_equal(decoded.alpha, np.where(indices == 1, 255, 0))
    np.testing.assert_array_equal(decoded.pixels[32, 32], [10, 200, 10])
    native = decoder.decode_native(data)
    assert native.channels == 4
    np.testing.assert_array_equal(native.pixels[:, :, 3], decoded.alpha)


def test_gray_colour_key_becomes_alpha(decoder: ImageDecoder) -> None:
    gray = np.full((20, 30), 7, np.uint8)
    gray[5:15, 5:25] = 200
    data = pillow_bytes(gray, "PNG", transparency=7)
    np.testing.assert_array_equal(decoder.decode(data).alpha, np.where(gray == 7, 0, 255))
    native = decoder.decode_native(data)
    assert native.channels == 2
    np.testing.assert_array_equal(native.pixels[:, :, 0], gray)


def _png_with_colour_key(samples: np.ndarray, key: tuple[int, ...]) -> bytes:
    """A 16-bit gray (HxW) or RGB (HxWx3) PNG with a tRNS colour key, written chunk by chunk."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    height, width = samples.shape[:2]
    colour_type = 2 if samples.ndim == 3 else 0
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in samples)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))
        + chunk(b"tRNS", struct.pack(f">{len(key)}H", *key)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )  # fmt: skip


@pytest.mark.parametrize("channels", [1, 3])
def test_sixteen_bit_colour_key_becomes_alpha_at_depth(decoder: ImageDecoder, channels: int) -> None:
    """On main Pillow compared its 8-bit copy with the 16-bit key: the transparency was lost."""
    key = (1000, 2000, 3000)[:channels]
    samples = np.tile(np.array(key, np.uint16), (12, 16, 1))
    samples[3:9, 4:12] = (40000, 50000, 60000)[:channels]
    data = _png_with_colour_key(samples[:, :, 0] if channels == 1 else samples, key)
    expected_alpha = np.zeros((12, 16), np.uint16)
    expected_alpha[3:9, 4:12] = 0xFFFF
    native = decoder.decode_native(data)
    assert native.pixels.dtype == np.uint16 and native.channels == channels + 1
    np.testing.assert_array_equal(native.pixels[:, :, :channels], samples)
    np.testing.assert_array_equal(native.pixels[:, :, channels], expected_alpha)
    np.testing.assert_array_equal(decoder.decode(data).alpha, expected_alpha >> 8)


@pytest.mark.parametrize(("pillow_format", "options"), [("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})])
def test_rgba_keeps_its_alpha(decoder: ImageDecoder, astronaut: np.ndarray, pillow_format: str, options: dict[str, object]) -> None:
    alpha = np.tile(np.arange(512, dtype=np.uint16)[None, :] // 2, (512, 1)).astype(np.uint8)
    data = pillow_bytes(np.dstack([astronaut, alpha]), pillow_format, **options)
    decoded = decoder.decode(data)
    np.testing.assert_array_equal(decoded.alpha, alpha)
    if pillow_format != "WEBP":  # lossless WebP may rewrite colours where alpha is 0
        np.testing.assert_array_equal(decoded.pixels, astronaut)


def test_float_tiff_in_unit_range_is_scaled(decoder: ImageDecoder, astronaut: np.ndarray) -> None:
    gray = astronaut[:, :, 1]
    data = pillow_bytes(Image.fromarray((gray / 255.0).astype(np.float32), "F"), "TIFF")
    np.testing.assert_array_equal(decoder.decode(data).pixels[:, :, 0], gray)
    native = decoder.decode_native(data)
    assert native.pixels.dtype == np.uint16
    np.testing.assert_array_equal(native.pixels[:, :, 0], np.rint(gray / 255.0 * 65535).astype(np.uint16))


@pytest.mark.parametrize("samples", [np.float32(255.0), np.float32(-0.5), np.float32(np.nan)])
def test_float_tiff_out_of_range_is_refused_by_name(decoder: ImageDecoder, samples: np.float32) -> None:
    values = np.full((8, 8), 0.5, np.float32)
    values[0, 0] = samples
    data = pillow_bytes(Image.fromarray(values, "F"), "TIFF")
    for decode in (decoder.decode, decoder.decode_native):
        with pytest.raises(SampleRangeError, match="floating-point samples must lie in 0.0-1.0") as caught:
            decode(data)
        assert caught.value.code == "unsupported_format"


def test_integer_tiff_beyond_sixteen_bits_is_refused_not_clipped(decoder: ImageDecoder) -> None:
    within = np.linspace(0, 65535, 32 * 32).astype(np.int32).reshape(32, 32)
    native = decoder.decode_native(pillow_bytes(Image.fromarray(within, "I"), "TIFF"))
    np.testing.assert_array_equal(native.pixels[:, :, 0], within.astype(np.uint16))
    beyond = pillow_bytes(Image.fromarray(within * 3, "I"), "TIFF")
    for decode in (decoder.decode, decoder.decode_native):
        with pytest.raises(SampleRangeError, match="range 0 to 196605"):
            decode(beyond)


@pytest.mark.parametrize(
    ("samples", "words"),
    [(np.random.default_rng(1).random((16, 24, 3), dtype=np.float32), "3 samples of 32-bit"),
     (np.full((16, 24), 0.5, np.float16), "1 sample of 16-bit"),
     (np.full((16, 24), 0.5, np.float64), "1 sample of 64-bit")],
)  # fmt: skip
def test_float_layouts_pillow_cannot_read_are_refused_by_name(decoder: ImageDecoder, samples: np.ndarray, words: str) -> None:
    """tifffile writes them (scikit-image depends on it); on main they were `corrupt_image`."""
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, samples, photometric="rgb" if samples.ndim == 3 else "minisblack")
    for decode in (decoder.decode, decoder.decode_native):
        with pytest.raises(SampleRangeError, match=f"tiff with {words} floating point") as caught:
            decode(buffer.getvalue())
        assert caught.value.code == "unsupported_format"


@pytest.mark.parametrize(("pillow_format", "options"), [("JPEG", {"quality": 95}), ("PNG", {}), ("WEBP", {"lossless": True})])
def test_junk_exif_is_refused_alike_in_every_format(
    decoder: ImageDecoder, astronaut: np.ndarray, pillow_format: str, options: dict[str, object]
) -> None:
    """The same junk EXIF block gets the same named refusal whichever format carries it (on main,
    WebP was refused while JPEG and PNG went through)."""
    data = pillow_bytes(astronaut, pillow_format, exif=JUNK_EXIF, **options)
    for decode in (decoder.decode, decoder.decode_native):
        with pytest.raises(CorruptImageError, match=f"{pillow_format.lower()} EXIF") as caught:
            decode(data)
        assert caught.value.code == "corrupt_image"


def test_unreadable_exif_counts_as_no_orientation(astronaut: np.ndarray) -> None:
    """What gets past the header checks but not Pillow's EXIF parser is decoded upright as stored."""
    image = Image.fromarray(astronaut)
    image.info["exif"] = JUNK_EXIF  # what Pillow's getexif() parses
    load_upright(image)
    np.testing.assert_array_equal(np.asarray(image), astronaut)


def _in_display_p3(pixels: np.ndarray) -> np.ndarray:
    transform = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(display_p3())), "RGB", "RGB"
    )
    return np.asarray(ImageCms.applyTransform(Image.fromarray(pixels), transform))


@pytest.mark.parametrize(
    ("pillow_format", "options", "tolerance"),
    [("PNG", {}, 0.2), ("JPEG", {"quality": 100}, 2.0), ("WEBP", {"lossless": True}, 0.2), ("TIFF", {}, 0.2)],
)
def test_display_p3_is_converted_to_srgb(
    decoder: ImageDecoder, astronaut: np.ndarray, pillow_format: str, options: dict[str, object], tolerance: float
) -> None:
    p3 = _in_display_p3(astronaut)
    assert np.abs(p3.astype(int) - astronaut).mean() > 4  # the P3 numbers read as sRGB look different
    decoded = decoder.decode(pillow_bytes(p3, pillow_format, icc_profile=display_p3(), **options))
    assert decoded.color == {"icc": "Display P3", "converted_to": "sRGB"}
    assert np.abs(decoded.pixels.astype(int) - astronaut).mean() < tolerance


def test_srgb_profile_is_left_alone(decoder: ImageDecoder, astronaut: np.ndarray) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = decoder.decode(pillow_bytes(astronaut, "PNG", icc_profile=srgb))
    assert decoded.color is not None and decoded.color["converted_to"] is None
    np.testing.assert_array_equal(decoded.pixels, astronaut)


def with_icc_colr_box(jp2: bytes, profile: bytes) -> bytes:
    """``jp2`` with its jp2h/colr box replaced by a restricted-ICC one (METH 2) holding ``profile``."""
    def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
        found, offset = [], 0
        while offset < len(data):
            length, kind = struct.unpack(">I4s", data[offset : offset + 8])
            length = length or len(data) - offset
            found.append((kind, data[offset + 8 : offset + length]))
            offset += length
        return found

    def pack(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    rebuilt = b""
    for kind, body in boxes(jp2):
        if kind == b"jp2h":
            inner = [(k, b) if k != b"colr" else (k, bytes([2, 0, 1]) + profile) for k, b in boxes(body)]
            body = b"".join(pack(k, b) for k, b in inner)
        rebuilt += pack(kind, body)
    return rebuilt


def test_jp2_colr_icc_profile_is_converted(decoder: ImageDecoder, astronaut: np.ndarray) -> None:
    data = with_icc_colr_box(pillow_bytes(_in_display_p3(astronaut), "JPEG2000", irreversible=False), display_p3())
    decoded = decoder.decode(data)
    assert decoded.color == {"icc": "Display P3", "converted_to": "sRGB"}
    assert np.abs(decoded.pixels.astype(int) - astronaut).mean() < 0.2
