"""The models and stats routes answer typed response models, over real HTTP: /openapi.json names
them, and the answers keep the shapes clients read (the Triton side: test_model_admin.py, test_classes.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.conftest import GatewayFactory, RunningGateway

STATS_KEYS = ["engine", "gateway", "jobs", "in_flight", "max_in_flight", "queue_depth", "queue_depth_by_priority", "replicas", "triton"]


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory) -> RunningGateway:
    return gateway_factory()


def _answer_schema(document: dict[str, Any], path: str, method: str) -> str:
    return str(document["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])


def test_openapi_names_each_answer(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        document = client.get("/openapi.json").json()
    answers = {
        ("/v1/stats", "get"): "Stats",
        ("/v1/models", "get"): "ServedModelList",
        ("/v1/classes", "get"): "ClassList",
        ("/v1/models/{model}/load", "post"): "ModelLoaded",
        ("/v1/models/{model}/swap", "post"): "ModelSwapped",
        ("/v1/models/{model}/rollback", "post"): "ModelSwapped",
        ("/v1/models/{model}/pins", "post"): "ModelPinned",
        ("/v1/models/{model}/pins/{version}", "delete"): "ModelUnpinned",
    }
    for (path, method), name in answers.items():
        assert _answer_schema(document, path, method) == f"#/components/schemas/{name}", (path, method)
    schemas = document["components"]["schemas"]
    assert list(schemas["Stats"]["properties"]) == STATS_KEYS
    assert {"$ref": "#/components/schemas/TritonUnreachable"} in schemas["Stats"]["properties"]["triton"]["anyOf"]
    assert list(schemas["ServedModelView"]["properties"]) == ["name", "versions", "on_disk", "fixed", "history", "pinned", "ready", "classes"]


def test_stats_without_triton_keep_their_shape(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        stats = client.get("/v1/stats").json()
    assert list(stats) == STATS_KEYS
    assert set(stats["triton"]) == {"url", "error"} and stats["triton"]["error"]  # no "models": null beside it
    assert stats["gateway"]["success_rate"] is None and stats["gateway"]["total"] == 0  # nulls are kept, not dropped
    assert stats["replicas"]["answered"] == 1 and stats["jobs"]["queued"] == stats["queue_depth"] == 0
