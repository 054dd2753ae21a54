"""Small helpers over tritonclient for the server tests."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
from PIL import Image


def image_input(payloads: Sequence[bytes]) -> grpcclient.InferInput:
    array = np.empty((len(payloads), 1), dtype=np.object_)
    array[:, 0] = list(payloads)
    tensor = grpcclient.InferInput("IMAGE", list(array.shape), "BYTES")
    tensor.set_data_from_numpy(array)
    return tensor


def outputs() -> list[grpcclient.InferRequestedOutput]:
    return [grpcclient.InferRequestedOutput("RESULT"), grpcclient.InferRequestedOutput("METADATA")]


def run_pipeline(
    client: grpcclient.InferenceServerClient, payloads: Sequence[bytes], **parameters: Any
) -> list[tuple[bytes, dict[str, Any]]]:
    """(result bytes, metadata) per payload, in order."""
    priority = parameters.pop("priority", 0)
    reply = client.infer("pipeline", [image_input(payloads)], outputs=outputs(), parameters=parameters or None, priority=priority)
    results = reply.as_numpy("RESULT").reshape(-1)
    metadata = reply.as_numpy("METADATA").reshape(-1)
    return [(bytes(result), json.loads(meta)) for result, meta in zip(results, metadata, strict=True)]


def decode_reference(payload: bytes) -> np.ndarray:
    """Pillow's decode, independent of the service's codec."""
    with Image.open(io.BytesIO(payload)) as image:
        return np.asarray(image.convert("RGB"))
