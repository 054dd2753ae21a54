"""Triton adapter: IMAGE bytes -> decoded_image, image_size, decoded_alpha, alpha_size, image_info.

imaging.codec does the work; python_models.alpha carries the alpha channels past detection and blur.
"""

from __future__ import annotations

import json
from typing import Any

import triton_python_backend_utils as pb_utils

from contracts import tensors
from imaging.codec import DecodedImage
from imaging.errors import ImageError
from python_models.alpha import pad_alphas
from python_models.metadata import input_image
from python_models.model_config import configured_decoder
from python_models.options import check_request_options
from python_models.tensors import (
    error_response,
    image_tensors,
    input_bytes,
    json_tensor,
    request_parameters,
)


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        tensors.check_model_tensors(config, tensors.DECODE)
        self.version = args["model_version"]
        self.decoder = configured_decoder(config)

    def execute(self, requests: list[Any]) -> list[Any]:
        """All images of all requests go to the codec in one batch; each request gets its own answer."""
        payloads = [input_bytes(request, tensors.IMAGE) for request in requests]
        decoded = self.decoder.decode_batch([item for items in payloads for item in items])
        responses, start = [], 0
        for request, items in zip(requests, payloads, strict=True):
            results = decoded[start : start + len(items)]
            start += len(items)
            responses.append(self._respond(request, results))
        return responses

    def _respond(self, request: Any, results: list[DecodedImage | ImageError]) -> Any:
        decoded: list[DecodedImage] = []
        for result in results:
            if isinstance(result, ImageError):
                return error_response(result)
            decoded.append(result)
        try:  # bad blur / encode options refused now, before detection spends time on the images
            check_request_options(request_parameters(request), [result.source_format for result in decoded])
        except ImageError as error:
            return error_response(error)
        images = [result.pixels for result in decoded]
        outputs = image_tensors(images, tensors.DECODED_IMAGE, tensors.IMAGE_SIZE)
        alphas, alpha_sizes = pad_alphas([result.alpha for result in decoded])
        outputs += [pb_utils.Tensor(tensors.DECODED_ALPHA, alphas), pb_utils.Tensor(tensors.ALPHA_SIZE, alpha_sizes)]
        infos = [{**input_image(result), "versions": {"decode": self.version}} for result in decoded]
        return pb_utils.InferenceResponse(output_tensors=[*outputs, json_tensor(tensors.IMAGE_INFO, infos)])
