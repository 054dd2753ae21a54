"""The rendered GPU repository served by a real tritonserver, rendered for the CPU (`--device cpu`):
its configs load, the ensemble is wired, and the torch paths the GPU host runs (detectors on
python_models.torch_session, blur on imaging.gpu_blur) answer what the CPU repository answers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from PIL import Image

from export.gpu_repository import GpuTarget, render_gpu_repository
from perf.repository import served_config, served_version_dir
from python_models.model_config import configured_centerface
from tests.photos import photo_pixels
from tests.server.client import decode_reference, run_pipeline
from triton_launcher import ServerConfig, TritonServer

pytestmark = pytest.mark.server
REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpcclient.InferenceServerClient]:
    repository = tmp_path_factory.mktemp("gpu-on-cpu") / "model_repository"
    render_gpu_repository(REPOSITORY, repository, GpuTarget(device="cpu", session_batch=4))
    log_path = repository.parent / "tritonserver.log"
    with TritonServer(ServerConfig(model_repository=repository), log_path=log_path) as server, grpcclient.InferenceServerClient(
        server.grpc_url
    ) as connected:
        yield connected


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_pipeline_on_the_torch_paths_finds_the_faces_onnx_runtime_finds(client: grpcclient.InferenceServerClient) -> None:
    pixels = photo_pixels("zidane.jpg")
    ((result, metadata),) = run_pipeline(client, [png(pixels)], format="png")
    faces_dir = REPOSITORY / "faces"
    (expected,) = configured_centerface(served_config(faces_dir), served_version_dir(faces_dir)).detect([pixels])
    found = np.array([face["box"] + [face["score"]] for face in metadata["faces"]], dtype=np.float32).reshape(-1, 5)
    assert len(found) == len(expected) >= 2
    order = np.argsort(found[:, 0]), np.argsort(expected[:, 0])
    np.testing.assert_allclose(found[order[0], :4], expected[order[1], :4], atol=1.0)  # boxes rounded in METADATA

    output = decode_reference(result)
    inside = np.zeros(pixels.shape[:2], dtype=bool)
    for record in metadata["blurred"]:
        x1, y1, x2, y2 = (int(round(value)) for value in record["box"])
        inside[y1:y2, x1:x2] = True
    assert {record["source"] for record in metadata["blurred"]} >= {"face"}
    np.testing.assert_array_equal(output[~inside], pixels[~inside])
    assert (output[inside] != pixels[inside]).mean() > 0.5
    assert metadata["decoder"] and metadata["output"]["format"] == "png"
