"""Small helpers over tritonclient for the server tests. Every METADATA they read is checked
against the contract's JSON Schema (contracts.metadata), so each server test also proves that
its model answers what the contract says."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
from PIL import Image

from contracts.tensors import IMAGE, METADATA, RESULT
from tests.contracts.schemas import metadata_validator


def image_input(payloads: Sequence[bytes]) -> grpcclient.InferInput:
    array = np.empty((len(payloads), 1), dtype=np.object_)
    array[:, 0] = list(payloads)
    tensor = grpcclient.InferInput(IMAGE, list(array.shape), "BYTES")
    tensor.set_data_from_numpy(array)
    return tensor


def outputs() -> list[grpcclient.InferRequestedOutput]:
    return [grpcclient.InferRequestedOutput(RESULT), grpcclient.InferRequestedOutput(METADATA)]


def checked_metadata(model: str, raw: bytes | str) -> dict[str, Any]:
    """One METADATA item of ``model``'s reply, parsed; jsonschema.ValidationError when it breaks the contract."""
    metadata = json.loads(raw)
    metadata_validator(model).validate(metadata)
    return metadata


def reply_metadata(model: str, reply: Any) -> list[dict[str, Any]]:
    """Every METADATA item of a reply, each checked against the contract."""
    return [checked_metadata(model, item) for item in reply.as_numpy(METADATA).reshape(-1)]


def run_pipeline(
    client: grpcclient.InferenceServerClient, payloads: Sequence[bytes], **parameters: Any
) -> list[tuple[bytes, dict[str, Any]]]:
    """(result bytes, metadata) per payload, in order."""
    priority = parameters.pop("priority", 0)
    reply = client.infer("pipeline", [image_input(payloads)], outputs=outputs(), parameters=parameters or None, priority=priority)
    results = reply.as_numpy(RESULT).reshape(-1)
    return [(bytes(result), meta) for result, meta in zip(results, reply_metadata("pipeline", reply), strict=True)]


def decode_reference(payload: bytes) -> np.ndarray:
    """Pillow's decode, independent of the service's codec."""
    with Image.open(io.BytesIO(payload)) as image:
        return np.asarray(image.convert("RGB"))
