"""The contract's METADATA JSON Schemas (contracts.metadata) as jsonschema validators."""

from __future__ import annotations

import functools

import jsonschema

from contracts.metadata import json_schema


@functools.cache
def metadata_validator(model: str) -> jsonschema.protocols.Validator:
    """A validator of ``model``'s METADATA items; the schema itself checked first."""
    schema = json_schema(model)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)
