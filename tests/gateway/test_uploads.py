"""The checks made on an image before it is stored or sent: bytes, sniffed format, header pixels."""

from __future__ import annotations

import io

import pytest

from gateway.core.errors import UploadTooLargeError
from gateway.jobs.uploads import check_pixels, inspect_upload
from imaging.errors import ImageTooLargeError, UnsupportedFormatError
from imaging.formats import sniff_format
from tests.gateway.images import j2k_header, jpeg_claiming, png_header
from tests.photos import photo_bytes

LIMIT = 100_000_000


@pytest.mark.parametrize(
    ("payload", "fmt"),
    [(png_header(60000, 60000), "png"), (jpeg_claiming(60000, 60000), "jpeg"), (j2k_header(60000, 60000), "j2k")],
    ids=["png", "jpeg", "j2k"],
)
def test_bombs_are_refused_naming_the_size_and_the_limit(payload: bytes, fmt: str) -> None:
    with pytest.raises(ImageTooLargeError) as refused:
        check_pixels(payload, fmt, LIMIT)
    assert "60000x60000" in str(refused.value) and "100000000 (GATEWAY_MAX_PIXELS)" in str(refused.value)


def test_the_limit_itself_passes() -> None:
    check_pixels(png_header(10000, 10000), "png", LIMIT, size=10**6)  # the first bytes of a 1 MB file
    with pytest.raises(ImageTooLargeError):
        check_pixels(png_header(10000, 10001), "png", LIMIT, size=10**6)


def test_what_the_header_cannot_tell_is_left_to_triton() -> None:
    check_pixels(j2k_header(60000, 60000), "j2k", LIMIT, {"reduce": 3}, size=10**6)  # limited after reduction, by Triton
    check_pixels(photo_bytes("bus.jpg")[:300], "jpeg", LIMIT, size=len(photo_bytes("bus.jpg")))  # header past the prefix


def test_headers_the_models_refuse_are_refused_here_with_their_words() -> None:
    from imaging.errors import CorruptImageError
    from tests.crashers import j2k_zero_tile_width, jpeg_conflicting_exif

    for payload, fmt in [(j2k_zero_tile_width(), "j2k"), (jpeg_conflicting_exif(), "jpeg"), (jpeg_claiming(9000, 9000), "jpeg")]:
        with pytest.raises(CorruptImageError, match=f"^{fmt} "):
            check_pixels(payload, fmt, LIMIT, size=len(payload))
    with pytest.raises(CorruptImageError, match="truncated"):  # the whole file, cut short: Triton refuses it too
        check_pixels(photo_bytes("bus.jpg")[:300], "jpeg", LIMIT)


def test_inspect_upload_sniffs_checks_and_rewinds() -> None:
    source = io.BytesIO(photo_bytes("zidane.jpg"))
    assert inspect_upload(source, 10**7, LIMIT) == ("jpeg", len(photo_bytes("zidane.jpg")))
    assert source.tell() == 0
    with pytest.raises(ImageTooLargeError, match="GATEWAY_MAX_PIXELS"):
        inspect_upload(io.BytesIO(photo_bytes("zidane.jpg")), 10**7, 1000)
    with pytest.raises(UploadTooLargeError, match="GATEWAY_MAX_UPLOAD_BYTES"):
        inspect_upload(io.BytesIO(photo_bytes("zidane.jpg")), 1000, LIMIT)
    with pytest.raises(UnsupportedFormatError):
        inspect_upload(io.BytesIO(b"GIF89a" + bytes(100)), 10**7, LIMIT)


class CountingReader(io.BytesIO):
    """Remembers the most bytes one read() returned."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.largest = max(self.largest, len(chunk))
        return chunk


def test_only_the_header_is_read_of_a_large_upload() -> None:
    import numpy as np
    from PIL import Image

    from gateway.jobs.uploads import HEADER_BYTES

    noise = np.random.default_rng(0).integers(0, 256, (1200, 1600, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG", quality=95)
    payload = buffer.getvalue()
    assert len(payload) > 2 * HEADER_BYTES
    source = CountingReader(payload)
    assert inspect_upload(source, 10**8, LIMIT) == ("jpeg", len(payload))
    assert source.largest <= HEADER_BYTES  # the route reads the upload itself, once
    with pytest.raises(ImageTooLargeError, match="1600x1200"):
        inspect_upload(CountingReader(payload), 10**8, 1_000_000)


def test_the_gateway_refuses_only_what_the_decoder_refuses() -> None:
    """Seeded mutations of real photos: whatever the upload check refuses, from the whole file or
    from its first bytes only, the models' decoder refuses with the same code."""
    from imaging.codec import ImageDecoder
    from imaging.errors import ImageError
    from tests.fuzz import cases

    decoder = ImageDecoder(max_pixels=LIMIT, device="cpu")
    refused = 0
    for _, _, data in cases(3000, seed=5):
        for head in (data, data[:512]):
            try:
                check_pixels(head, sniff_format(data), LIMIT, size=len(data)) if data else None
            except ImageError as gateway_error:
                refused += 1
                with pytest.raises(ImageError) as model_error:
                    decoder.inspect(data)
                assert model_error.value.code == gateway_error.code
    assert refused > 500
