"""The checks made on an image before it is stored or sent: bytes, then the models' own checks."""

from __future__ import annotations

import io

import pytest

from gateway.core.errors import UploadTooLargeError
from gateway.jobs.uploads import inspect_image, inspect_upload
from imaging.errors import ImageTooLargeError, UnsupportedFormatError
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
        assert inspect_image(payload, LIMIT) == fmt
    assert "60000x60000" in str(refused.value) and "100000000 (GATEWAY_MAX_PIXELS)" in str(refused.value)


def test_the_limit_itself_passes() -> None:
    inspect_image(png_header(10000, 10000), LIMIT, size=10**6)  # the first bytes of a 1 MB file
    with pytest.raises(ImageTooLargeError):
        inspect_image(png_header(10000, 10001), LIMIT, size=10**6)


def test_what_the_header_cannot_tell_is_left_to_triton() -> None:
    inspect_image(j2k_header(60000, 60000), LIMIT, {"reduce": 3}, size=10**6)  # 7500x7500 after reduction, as transcode
    inspect_image(j2k_header(60000, 60000), LIMIT, {"reduce": "half"}, size=10**6)  # transcode refuses the option: Triton names it
    with pytest.raises(ImageTooLargeError, match="15000x15000"):  # reduce 2 is not enough
        inspect_image(j2k_header(60000, 60000), LIMIT, {"reduce": 2}, size=10**6)
    inspect_image(photo_bytes("bus.jpg")[:300], LIMIT, size=len(photo_bytes("bus.jpg")))  # header past the prefix


def test_headers_the_models_refuse_are_refused_here_with_their_words() -> None:
    from imaging.errors import CorruptImageError
    from tests.crashers import j2k_zero_tile_width, jpeg_conflicting_exif

    for payload, fmt in [(j2k_zero_tile_width(), "j2k"), (jpeg_conflicting_exif(), "jpeg"), (jpeg_claiming(9000, 9000), "jpeg")]:
        with pytest.raises(CorruptImageError, match=f"^{fmt} "):
            inspect_image(payload, LIMIT, size=len(payload))
    with pytest.raises(CorruptImageError, match="truncated"):  # the whole file, cut short: Triton refuses it too
        inspect_image(photo_bytes("bus.jpg")[:300], LIMIT)


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
    """Seeded mutations of real photos: from the whole file the upload check refuses exactly what
    the models' decoder refuses, with the same error; from its first bytes only, a part of it."""
    from imaging.codec import ImageDecoder
    from imaging.errors import ImageError
    from tests.fuzz import cases

    decoder = ImageDecoder(max_pixels=LIMIT, device="cpu")
    refused = from_prefix = 0
    for _, _, data in cases(3000, seed=5):
        try:
            decoder.inspect(data)
            model_error: ImageError | None = None
        except ImageError as error:
            model_error = error
        try:
            inspect_image(data, LIMIT, size=len(data))
            gateway_error: ImageError | None = None
        except ImageError as error:
            gateway_error = error
        named = str(gateway_error).removesuffix(" (GATEWAY_MAX_PIXELS)")
        assert (type(gateway_error), named) == (type(model_error), str(model_error))
        refused += gateway_error is not None
        try:
            inspect_image(data[:512], LIMIT, size=len(data)) if len(data) > 512 else None
        except ImageError as error:
            from_prefix += 1
            assert model_error is not None and model_error.code == error.code
    assert refused > 500 and from_prefix > 300
