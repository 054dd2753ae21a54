"""Budgets on the real server: a small file claiming a huge JPEG is refused before decoding, a
`process` chain planning too many pixels is refused before any work; both by name, quickly."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import tritonclient.grpc as grpcclient

from tests.fuzz import Target, answer, healthy, seed_files
from tests.gateway.conftest import RunningGateway, make_settings
from tests.gateway.images import jpeg_claiming

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def client(triton_server: Any) -> Iterator[grpcclient.InferenceServerClient]:
    with grpcclient.InferenceServerClient(triton_server.grpc_url) as connection:
        yield connection


@pytest.mark.parametrize("target", [Target("pipeline"), Target("transcode", {"format": "png"}), Target("process")], ids=lambda t: t.model)
def test_a_631_byte_jpeg_claiming_9000x9000_is_refused_before_decoding(client: grpcclient.InferenceServerClient, target: Target) -> None:
    started = time.perf_counter()
    result = answer(client, target, jpeg_claiming(9000, 9000))
    assert (result.kind, result.detail) == ("refused", "corrupt_image")
    assert time.perf_counter() - started < 5  # on main: 24 s of decoding


@pytest.mark.parametrize(
    ("operations", "named"),
    [
        ([{"op": "resize", "width": 20000, "height": 20000}], "image_too_large"),  # 400 MP from a tiny upload
        ([{"op": "resize", "width": 65535, "height": 65535}], "image_too_large"),
        ([{"op": "resize", "scale": 8}] + [{"op": "blur", "kind": "box", "size": 2}] * 2000, "invalid_option"),  # > 32 steps
    ],
    ids=["400mp", "largest-side", "too-many-steps"],
)
def test_process_chains_beyond_the_budget_are_refused(client: grpcclient.InferenceServerClient, operations: list, named: str) -> None:
    started = time.perf_counter()
    result = answer(client, Target("process", {"operations": json.dumps(operations)}), seed_files()["baseline.jpg"])
    assert (result.kind, result.detail) == ("refused", named)
    assert time.perf_counter() - started < 5
    assert healthy(client)


def test_the_gateway_refuses_them_with_the_models_words(triton_server: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    gateway = RunningGateway(make_settings(tmp_path_factory.mktemp("storage"), triton_url=triton_server.grpc_url)).start()
    try:
        with gateway.client() as http:
            claiming = http.post("/v1/process", files={"file": ("claims.jpg", jpeg_claiming(9000, 9000))})
            chain = http.post("/v1/process", files={"file": ("small.jpg", seed_files()["baseline.jpg"])},
                              data={"operations": json.dumps([{"op": "resize", "width": 20000, "height": 20000}])})
    finally:
        gateway.stop()
    assert (claiming.status_code, claiming.json()["error"]) == (422, "corrupt_image"), claiming.text
    assert "9000x9000" in claiming.json()["detail"]
    assert (chain.status_code, chain.json()["error"]) == (413, "image_too_large"), chain.text
    assert "max_step_pixels" in chain.json()["detail"]
