"""An 8000x6000 scan through `pipeline`: faces across tile borders found once each and blurred."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from tests.huge_canvas import huge_canvas, iou
from tests.imaging.conftest import pillow_bytes
from tests.server.client import decode_reference, run_pipeline

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(triton_server: object) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


def test_every_face_found_once_and_blurred(client: grpcclient.InferenceServerClient) -> None:
    canvas, expected = huge_canvas()
    [(result, metadata)] = run_pipeline(client, [pillow_bytes(canvas, "PNG", compress_level=1)], format="png")
    assert (metadata["width"], metadata["height"]) == (8000, 6000)  # above the old 40 MP limit
    faces = [np.array(face["box"]) for face in metadata["faces"] if not face["uncertain"]]
    assert len(faces) == len(expected)
    for box in expected:
        assert sum(iou(box, face) > 0.5 for face in faces) == 1, f"face at {box.round().tolist()}"
    processed = decode_reference(result)
    for x1, y1, x2, y2 in expected.astype(int):
        difference = np.abs(processed[y1:y2, x1:x2].astype(np.int16) - canvas[y1:y2, x1:x2]).mean()
        assert difference > 3, f"face at {(x1, y1, x2, y2)} not blurred"
    untouched = processed[:300, :300]  # far from every face
    np.testing.assert_array_equal(untouched, canvas[:300, :300])
