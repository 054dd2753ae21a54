"""Bad input gets an error naming the problem, and the server keeps serving."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from tests.photos import photo_bytes
from tests.server.client import image_input, outputs, run_pipeline

pytestmark = pytest.mark.server


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk (valid CRC) claiming the given size, with no pixel data."""
    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (b"", "empty_image"),
        (photo_bytes("zidane.jpg")[:4000], "corrupt_image"),
        (b"name,score\nalice,3\n" * 20, "unsupported_format"),
        (png_header(60000, 60000), "image_too_large"),
    ],
    ids=["empty", "truncated-jpeg", "text", "png-bomb"],
)
def test_bad_image_is_named_and_server_survives(client: grpcclient.InferenceServerClient, payload: bytes, named: str) -> None:
    with pytest.raises(InferenceServerException, match=named):
        run_pipeline(client, [payload])
    assert client.is_server_ready()
    [(_, metadata)] = run_pipeline(client, [photo_bytes("astronaut.png")])
    assert len([face for face in metadata["faces"] if not face["uncertain"]]) == 1


@pytest.mark.parametrize(
    ("parameters", "named"),
    [({"format": "gif"}, "format"), ({"quality": 500}, "quality"), ({"blur_kind": "smudge"}, "blur_kind")],
)
def test_bad_option_is_named(client: grpcclient.InferenceServerClient, parameters: dict, named: str) -> None:
    with pytest.raises(InferenceServerException, match=f"invalid_option.*{named}"):
        run_pipeline(client, [photo_bytes("astronaut.png")], **parameters)


def test_unknown_model_and_version_are_named(client: grpcclient.InferenceServerClient) -> None:
    inputs = [image_input([photo_bytes("astronaut.png")])]
    with pytest.raises(InferenceServerException, match="unknown model"):
        client.infer("no_such_model", inputs, outputs=outputs())
    with pytest.raises(InferenceServerException, match="version 99"):
        client.infer("pipeline", inputs, outputs=outputs(), model_version="99")
