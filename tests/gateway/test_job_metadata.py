"""A job's metadata read through the contract's types: `process`'s outputs, and where the gateway
stored each of them (``object``), still valid against the published `process` schema."""

from __future__ import annotations

import jsonschema

from contracts.metadata import json_schema, output_images
from gateway.jobs.archive import output_names
from gateway.jobs.models import StoredObject
from gateway.jobs.service import with_stored_outputs
from tests.contracts.test_contracts import pipeline_metadata


def process_metadata() -> dict:
    """`process`'s METADATA for a 100x45 JPEG cut into two tiles, without detections."""
    tile = {"index": 0, "width": 50, "height": 45, "bytes": 10, "encoder": "pillow", "anonymized": [],
            "tiles": [{"row": 0, "col": 0, "x": 0, "y": 0, "width": 50, "height": 45}]}
    second = {**tile, "index": 1, "tiles": [{**tile["tiles"][0], "col": 1, "x": 50}]}
    return {"width": 100, "height": 45, "format": "jpeg", "decoder": "pillow", "frames": 1, "alpha": False,
            "operations": [{"op": "tile", "rows": 1, "cols": 2}], "outputs": [tile, second],
            "output": {"format": "png", "content_type": "image/png", "bytes": 20, "encoder": "pillow", "count": 2},
            "versions": {"process": "1"}}


def test_outputs_are_read_only_from_process_metadata() -> None:
    assert output_images(pipeline_metadata(False)) == []
    assert [image["index"] for image in output_images(process_metadata())] == [0, 1]
    assert output_names(process_metadata(), 2) == ["000-r0c0.png", "001-r0c1.png"]


def test_stored_outputs_are_named_in_the_metadata_and_keep_it_valid() -> None:
    validator = jsonschema.Draft202012Validator(json_schema("process"))
    metadata = process_metadata()
    validator.validate(metadata)
    stored = [StoredObject(key=f"outputs/job/{index:03d}.png", location=f"file:///s/{index}", content_type="image/png", bytes=10)
              for index in range(2)]
    located = with_stored_outputs(metadata, stored)
    validator.validate(located)
    assert [image["object"] for image in output_images(located)] == [item.model_dump() for item in stored]
    assert "object" not in metadata["outputs"][0]  # the model's METADATA is left as it was
