"""The contract module (contracts/): the committed configs declare its tensor names, its JSON
Schemas are valid and strict, the metadata builders produce what they promise, and README's
METADATA example names the same fields. That every served model's METADATA validates is checked
by the server tests themselves (tests/server/client.py validates every reply it reads)."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from contracts import errors as codes
from contracts import parameters, tensors
from contracts.metadata import METADATA_TYPES, BlurApplied, json_schema
from imaging import errors
from imaging.codec import DecodedImage
from python_models.metadata import blur_plan, image_metadata, input_image, with_residual
from python_models.options import BlurOptions
from tests.contracts.schemas import metadata_validator
from tests.model_repository.configs import committed_config

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = ROOT / "model_repository"

FACES = {"model": "faces", "version": "1", "threshold": 0.5, "floor": 0.3, "skipped": False,
         "passes": [{"kind": "whole", "scale": 0.5, "count": 1, "rotations": [0]}],
         "faces": [{"box": [20.0, 12.0, 30.0, 25.0], "score": 0.95, "detector": "faces", "version": "1", "uncertain": False}]}
PLATES = {"model": "plates", "version": "1", "classes": ["license_plate"], "threshold": 0.25, "floor": 0.1,
          "skipped": False, "passes": [],
          "detections": [{"box": [60.0, 60.0, 80.0, 70.0], "score": 0.2, "class_id": 0, "class_name": "license_plate",
                          "detector": "plates", "version": "1", "uncertain": True}]}
PEOPLE = {**PLATES, "model": "detect", "classes": ["person"], "skipped": True, "detections": []}


@pytest.mark.parametrize("model", sorted(tensors.MODELS))
def test_every_committed_config_declares_its_contract_tensors(model: str) -> None:
    tensors.check_model_tensors(committed_config(model), tensors.MODELS[model])


def test_a_config_that_drifts_from_the_contract_is_refused() -> None:
    config = {"name": "decode", "input": [{"name": "IMAGE_BYTES"}], "output": [{"name": name} for name in tensors.DECODE.outputs]}
    with pytest.raises(tensors.ContractError, match=r"missing \['IMAGE'\], unexpected \['IMAGE_BYTES'\]"):
        tensors.check_model_tensors(config, tensors.DECODE)


def test_every_model_repository_folder_has_a_contract() -> None:
    assert sorted(path.parent.name for path in REPOSITORY.glob("*/config.pbtxt")) == sorted(tensors.MODELS)


def test_error_classes_carry_the_contract_codes() -> None:
    client_errors = (errors.EmptyImageError, errors.UnsupportedFormatError, errors.CorruptImageError,
                     errors.ImageTooLargeError, errors.InvalidOptionError)
    assert tuple(cls.code for cls in client_errors) == codes.CLIENT_ERRORS


def test_parameter_names_are_unique() -> None:
    assert len(set(parameters.ALL)) == len(parameters.ALL)


@pytest.mark.parametrize("model", sorted(METADATA_TYPES))
def test_schemas_are_valid_and_refuse_undeclared_keys(model: str) -> None:
    schema = metadata_validator(model).schema
    assert schema["additionalProperties"] is False
    assert all(definition.get("additionalProperties") is False for definition in schema.get("$defs", {}).values())


def pipeline_metadata(verify: bool) -> dict:
    """METADATA as decode, blur (and verify) and encode build it, from the same functions."""
    decoded = DecodedImage(np.zeros((90, 100, 3), np.uint8), "jpeg", "pillow", color={"icc": "Display P3", "converted_to": "sRGB"})
    info = {**input_image(decoded), "versions": {"decode": "1"}}
    _, blurred = blur_plan([PEOPLE, PLATES], FACES, BlurOptions(always=frozenset({"license_plate"})), 100, 90)
    metadata = image_metadata(info, [PEOPLE, PLATES], FACES, blurred, BlurApplied(kind="gaussian", strength=1.0), "1")
    if verify:
        residual = [{**blurred[0], "residual": True}]
        metadata = with_residual(metadata, residual, [PLATES], FACES)
    output = {"format": "jpeg", "content_type": "image/jpeg", "bytes": 10, "encoder": "pillow", "alpha": False}
    return {**metadata, "output": output, "versions": {**metadata["versions"], "encode": "1"}}


@pytest.mark.parametrize("verify", [False, True])
def test_pipeline_metadata_built_by_the_models_functions_validates(verify: bool) -> None:
    metadata = pipeline_metadata(verify)
    metadata_validator("pipeline").validate(metadata)
    assert len(metadata["blurred"]) == (3 if verify else 2)  # a face and an uncertain plate (+ the residual)
    if verify:
        assert metadata["verify"] == {"plates": "1", "faces": "1"} and metadata["residual"] == 1


def test_a_metadata_breaking_the_contract_is_caught() -> None:
    metadata = pipeline_metadata(False)
    with pytest.raises(jsonschema.ValidationError, match="'confidence' was unexpected"):
        metadata_validator("pipeline").validate({**metadata, "faces": [{**metadata["faces"][0], "confidence": 1}]})
    with pytest.raises(jsonschema.ValidationError, match="'uncertain' is a required property"):
        metadata_validator("pipeline").validate({key: value for key, value in metadata.items() if key != "uncertain"})


def test_readme_metadata_example_names_exactly_the_pipeline_fields() -> None:
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"`METADATA`:\n```json\n(.*?)\n```", readme, re.S)
    assert example, "README has no METADATA example"
    without_versions = re.sub(r'"versions": \{[^}]*\}', '"versions": {}', example.group(1))  # its keys are model names
    named = set(re.findall(r'"(\w+)":', without_versions))
    schema = json_schema("pipeline")
    fields = set(schema["properties"])
    for definition in schema["$defs"].values():
        fields |= set(definition.get("properties", {}))
    optional_in_example = {"residual", "verify", "color", "icc", "converted_to", "note", "count", "bits", "channels"}
    assert named <= fields, f"README names fields the contract lacks: {sorted(named - fields)}"
    assert fields - named <= optional_in_example, f"README's example lacks {sorted(fields - named - optional_in_example)}"
