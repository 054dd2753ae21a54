"""The gateway's /openapi.json (over real HTTP) publishes the contract's METADATA schemas, and
they are the contract's: a pipeline METADATA validates against the published component."""

from __future__ import annotations

import jsonschema
import pytest

from contracts.metadata import json_schema, openapi_components
from gateway.api.openapi import SchemaNameClash, add_components
from tests.contracts.test_contracts import pipeline_metadata
from tests.gateway.conftest import GatewayFactory, RunningGateway


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory) -> RunningGateway:
    return gateway_factory()


def test_openapi_document_carries_the_metadata_schemas(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    assert {"PipelineMetadata", "ProcessMetadata", "TranscodeMetadata", "AnonymizationStep"} <= set(components)
    assert components["PipelineMetadata"]["properties"].keys() == json_schema("pipeline")["properties"].keys()
    # the published schema, resolved inside the document, accepts what the models build and refuses extras
    resolver_document = {"$ref": "#/components/schemas/PipelineMetadata", "components": document["components"]}
    validator = jsonschema.Draft202012Validator(resolver_document)
    metadata = pipeline_metadata(verify=True)
    validator.validate(metadata)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**metadata, "unexpected": 1})


def test_a_name_taken_by_another_schema_is_refused() -> None:
    document = {"components": {"schemas": {"Detection": {"type": "string"}}}}
    with pytest.raises(SchemaNameClash, match="Detection"):
        add_components(document, openapi_components())
