"""The `process` model on the real tritonserver: operation chains, BLS detection, several outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from imaging.formats import sniff_format
from tests.photos import photo_bytes, photo_pixels
from tests.server.client import decode_reference, image_input, outputs, reply_metadata

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


def run_process(client: grpcclient.InferenceServerClient, payloads: list[bytes], **parameters: Any) -> list[tuple[list[bytes], dict[str, Any]]]:
    """(output images, metadata) per payload; RESULT is [N, K] with empty padding items."""
    if "operations" in parameters and not isinstance(parameters["operations"], str):
        parameters["operations"] = json.dumps(parameters["operations"])
    reply = client.infer("process", [image_input(payloads)], outputs=outputs(), parameters=parameters or None, priority=1)
    metadata = reply_metadata("process", reply)
    rows = reply.as_numpy("RESULT").reshape(len(payloads), -1)
    return [([bytes(item) for item in row[: meta["output"]["count"]]], meta) for row, meta in zip(rows, metadata, strict=True)]


def test_chain_with_anonymize_and_tiles(client: grpcclient.InferenceServerClient) -> None:
    chain = [
        {"op": "resize", "scale": 0.5},
        {"op": "anonymize", "blur_kind": "pixelate"},
        {"op": "tile", "rows": 1, "cols": 2, "overlap": 0},
        {"op": "format", "format": "png"},
    ]
    [(images, metadata)] = run_process(client, [photo_bytes("zidane.jpg")], operations=chain)
    assert len(images) == 2 == len(metadata["outputs"])
    assert [sniff_format(image) for image in images] == ["png", "png"]
    assert metadata["output"]["encoder"] and all(out["encoder"] for out in metadata["outputs"])
    assert [(out["width"], out["height"]) for out in metadata["outputs"]] == [(320, 360), (320, 360)]
    [record] = metadata["outputs"][0]["anonymized"]
    assert len([face for face in record["faces"] if not face["uncertain"]]) == 2 and record["blur"]["kind"] == "pixelate"
    assert set(metadata["versions"]) == {"process", "detect", "plates", "faces"}
    halves = np.hstack([decode_reference(image) for image in images])
    resized = photo_pixels("zidane.jpg")[::2, ::2]
    for face in record["blurred"]:
        x1, y1, x2, y2 = (int(value) for value in face["box"])
        assert np.abs(halves[y1:y2, x1:x2].astype(int) - resized[y1:y2, x1:x2]).mean() > 3


def test_without_operations_it_anonymises_like_pipeline(client: grpcclient.InferenceServerClient) -> None:
    [(images, metadata)], [(images_2, _)] = (run_process(client, [photo_bytes(name)]) for name in ("astronaut.png", "grace_hopper.jpg"))
    assert len(images) == 1 and sniff_format(images[0]) == "png" and sniff_format(images_2[0]) == "jpeg"
    assert len([face for face in metadata["outputs"][0]["anonymized"][0]["faces"] if not face["uncertain"]]) == 1


@pytest.mark.parametrize(
    "chain",
    [
        [{"op": "format", "format": "png"}],
        [{"op": "resize", "scale": 0.5}, {"op": "format", "format": "png"}],
        [{"op": "rotate", "angle": 90}, {"op": "blur", "region": "image", "kind": "bilateral"}, {"op": "format", "format": "png"}],
    ],
    ids=["format-only", "resize", "rotate-and-whole-image-bilateral"],
)
def test_a_chain_without_anonymize_is_anonymised_first(client: grpcclient.InferenceServerClient, chain: list) -> None:
    """Fail closed: whatever `process` answers is anonymised; step 0 is the implicit anonymize."""
    [(images, metadata)] = run_process(client, [photo_bytes("zidane.jpg")], operations=chain)
    [record] = metadata["outputs"][0]["anonymized"]
    assert record["step"] == 0
    faces = [region for region in record["blurred"] if region["source"] == "face"]
    assert len(faces) >= 2
    anonymised = decode_reference(images[0])
    resized = {"format": 1, "resize": 2, "rotate": 1}[chain[0]["op"]]
    original = photo_pixels("zidane.jpg")
    if chain[0]["op"] == "rotate":
        return  # rotated and blurred all over: the record is the proof; pixels below for the others
    expected = original[::resized, ::resized]
    for face in faces:  # boxes in the original's pixels (detected before any resize)
        x1, y1, x2, y2 = (int(value) // resized for value in face["box"])
        assert np.abs(anonymised[y1:y2, x1:x2].astype(int) - expected[y1:y2, x1:x2]).mean() > 3


def test_a_batch_of_images_with_tiles(client: grpcclient.InferenceServerClient) -> None:
    answers = run_process(client, [photo_bytes("astronaut.png"), photo_bytes("coffee.png")], operations=[{"op": "tile", "rows": 2, "cols": 2}])
    assert [len(images) for images, _ in answers] == [4, 4]


@pytest.mark.parametrize(("chain", "named"), [
    ([{"op": "rotate", "angle": 90}, {"op": "crop", "x": 0, "y": 0, "width": 900, "height": 10}], r"invalid_option: operations step 2 \(crop\)"),
    ([{"op": "sharpen"}], "invalid_option: operations step 1: unknown operation 'sharpen'"),
])
def test_bad_chains_are_named(client: grpcclient.InferenceServerClient, chain: list, named: str) -> None:
    with pytest.raises(InferenceServerException, match=named):
        run_process(client, [photo_bytes("astronaut.png")], operations=chain)
    assert client.is_server_ready()
