"""python_models.transcoding on real photos (the `transcode` model's work, without Triton)."""

from __future__ import annotations

import io

import jsonschema
import numpy as np
import pytest
from PIL import Image, ImageCms

from contracts.metadata import json_schema
from imaging.codec import ImageDecoder, ImageEncoder
from imaging.errors import InvalidOptionError
from imaging.formats import sniff_format
from imaging.options import parse_reduce
from python_models.transcoding import transcode
from tests.imaging.icc import display_p3
from tests.photos import photo_bytes, photo_pixels


@pytest.fixture(scope="module")
def codecs() -> tuple[ImageDecoder, ImageEncoder]:
    return ImageDecoder(device="cpu"), ImageEncoder(device="cpu")


def test_jpeg_to_lossless_jp2_and_back(codecs: tuple[ImageDecoder, ImageEncoder]) -> None:
    jp2, metadata = transcode(photo_bytes("grace_hopper.jpg"), {"format": "jp2", "lossless": "true"}, *codecs, "1")
    assert sniff_format(jp2) == "jp2"
    assert metadata["output"] | {"bytes": 0} == {"format": "jp2", "content_type": "image/jp2", "bytes": 0, "bits": 8, "channels": 3}
    assert (metadata["decoder"], metadata["encoder"]) == ("nvimgcodec-cpu", "pillow")
    assert metadata["versions"] == {"transcode": "1"}
    jsonschema.Draft202012Validator(json_schema("transcode")).validate(metadata)
    png, _ = transcode(jp2, {"format": "png"}, *codecs, "1")
    np.testing.assert_array_equal(codecs[0].decode_native(png).pixels, photo_pixels("grace_hopper.jpg"))


def test_reduced_preview_of_a_jp2(codecs: tuple[ImageDecoder, ImageEncoder]) -> None:
    preview, metadata = transcode(photo_bytes("nemo.jp2"), {"reduce": "1", "format": "jpeg"}, *codecs, "1")
    assert (metadata["width"], metadata["height"], metadata["reduce_method"]) == (1296, 728, "codestream")
    assert codecs[0].decode(preview).pixels.shape == (728, 1296, 3)


def test_default_output_is_the_input_family(codecs: tuple[ImageDecoder, ImageEncoder]) -> None:
    _, metadata = transcode(photo_bytes("goodstuff.j2k"), {}, *codecs, "1")
    assert metadata["output"]["format"] == "jp2"


@pytest.mark.parametrize("value", ["-1", "half", True, "1.5"])
def test_bad_reduce_is_named(value: object) -> None:
    with pytest.raises(InvalidOptionError, match="reduce must be a whole number"):
        parse_reduce({"reduce": value})


def test_palette_transparency_stays_alpha(codecs: tuple[ImageDecoder, ImageEncoder]) -> None:
    """On main a palette PNG with a tRNS chunk lost its transparency in transcode."""
    indices = np.zeros((40, 60), np.uint8)
    indices[10:30, 20:40] = 1
    image = Image.fromarray(indices, "P")
    image.putpalette([255, 0, 255, 10, 200, 10] + [0] * 762)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=0)
    for fmt in ("png", "webp", "tiff"):
        encoded, metadata = transcode(buffer.getvalue(), {"format": fmt, "lossless": "true"}, *codecs, "1")
        assert metadata["channels"] == 4 and metadata["output"]["channels"] == 4
        decoded = codecs[0].decode_native(encoded).pixels
        np.testing.assert_array_equal(decoded[:, :, 3], np.where(indices == 1, 255, 0))
        np.testing.assert_array_equal(decoded[15, 25], [10, 200, 10, 255])


def test_display_p3_is_converted_and_recorded(codecs: tuple[ImageDecoder, ImageEncoder]) -> None:
    astronaut = photo_pixels("astronaut.png")
    profile = display_p3()
    to_p3 = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(profile)), "RGB", "RGB")
    buffer = io.BytesIO()
    ImageCms.applyTransform(Image.fromarray(astronaut), to_p3).save(buffer, format="PNG", icc_profile=profile)
    encoded, metadata = transcode(buffer.getvalue(), {"format": "png"}, *codecs, "1")
    assert metadata["color"] == {"icc": "Display P3", "converted_to": "sRGB"} and metadata["frames"] == 1
    jsonschema.Draft202012Validator(json_schema("transcode")).validate(metadata)
    assert np.abs(codecs[0].decode_native(encoded).pixels.astype(int) - astronaut).mean() < 0.2
