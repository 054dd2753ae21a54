"""Triton tensors <-> numpy / JSON, and errors -> responses. Importable only inside the Python-backend stub."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from contracts import errors as codes
from contracts.tensors import DECODED_IMAGE, IMAGE_SIZE
from imaging.errors import ImageError
from python_models.batching import pad_images, unpad_images
from python_models.options import parse_parameters

logger = logging.getLogger(__name__)


def request_parameters(request: Any) -> dict[str, object]:
    return parse_parameters(request.parameters())


def input_array(request: Any, name: str) -> np.ndarray:
    return pb_utils.get_input_tensor_by_name(request, name).as_numpy()


def input_bytes(request: Any, name: str) -> list[bytes]:
    """A BYTES input of shape [N, 1] as N byte strings."""
    return [bytes(item) for item in input_array(request, name).reshape(-1)]


def input_json(request: Any, name: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in input_bytes(request, name)]


def input_images(request: Any, images: str = DECODED_IMAGE, sizes: str = IMAGE_SIZE) -> list[np.ndarray]:
    """The request's images, unpadded."""
    return unpad_images(input_array(request, images), input_array(request, sizes))


def bytes_tensor(name: str, items: Sequence[bytes]) -> pb_utils.Tensor:
    array = np.empty((len(items), 1), dtype=np.object_)
    array[:, 0] = list(items)
    return pb_utils.Tensor(name, array)


def bytes_matrix_tensor(name: str, rows: Sequence[Sequence[bytes]]) -> pb_utils.Tensor:
    """[N, K] BYTES, K the longest row; shorter rows are padded with empty items."""
    width = max((len(row) for row in rows), default=0)
    array = np.full((len(rows), width), b"", dtype=np.object_)
    for index, row in enumerate(rows):
        array[index, : len(row)] = list(row)
    return pb_utils.Tensor(name, array)


async def infer_json(
    model_name: str,
    images: Sequence[np.ndarray],
    output_name: str,
    max_batch: int = 16,
    parameters: Mapping[str, str | int | bool] | None = None,
) -> list[dict[str, Any]]:
    """BLS: ``images`` through a model taking decoded_image/image_size, its JSON output per image.

    Batches of at most ``max_batch`` go out at once, so several instances may serve them;
    ``parameters`` become the requests' parameters (thresholds, blur_classes).
    """
    requests = []
    for start in range(0, len(images), max_batch):
        inputs = image_tensors(images[start : start + max_batch], DECODED_IMAGE, IMAGE_SIZE)
        request = pb_utils.InferenceRequest(
            model_name=model_name, requested_output_names=[output_name], inputs=inputs, parameters=parameters or {}
        )
        requests.append(request.async_exec())
    found: list[dict[str, Any]] = []
    for response in await asyncio.gather(*requests):
        if response.has_error():
            raise RuntimeError(f"{model_name} failed: {response.error().message()}")
        tensor = pb_utils.get_output_tensor_by_name(response, output_name)
        found += [json.loads(bytes(item)) for item in tensor.as_numpy().reshape(-1)]
    return found


def json_tensor(name: str, items: Sequence[Mapping[str, object]]) -> pb_utils.Tensor:
    return bytes_tensor(name, [json.dumps(item, separators=(",", ":")).encode() for item in items])


def image_tensors(images: Sequence[np.ndarray], images_name: str, sizes_name: str) -> list[pb_utils.Tensor]:
    batch, sizes = pad_images(images)
    return [pb_utils.Tensor(images_name, batch), pb_utils.Tensor(sizes_name, sizes)]


def error_response(error: Exception) -> pb_utils.InferenceResponse:
    """A failed response naming the problem; image problems are the client's fault (INVALID_ARG)."""
    if isinstance(error, ImageError):
        message, code = f"{error.code}: {error}", pb_utils.TritonError.INVALID_ARG
    else:
        logger.exception("internal error", exc_info=error)
        message, code = f"{codes.INTERNAL_ERROR}: {type(error).__name__}: {error}", pb_utils.TritonError.INTERNAL
    return pb_utils.InferenceResponse(error=pb_utils.TritonError(message, code))


def respond_each(requests: Sequence[Any], handle: Callable[[Any], pb_utils.InferenceResponse]) -> list[pb_utils.InferenceResponse]:
    """One response per request; an exception fails only its own request."""
    responses = []
    for request in requests:
        try:
            responses.append(handle(request))
        except Exception as error:  # noqa: BLE001 - execute() must never raise
            responses.append(error_response(error))
    return responses
