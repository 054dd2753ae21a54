"""Triton adapter: blurred pixels (+ the input's alpha) -> RESULT (encoded bytes) and METADATA.

imaging.codec encodes; python_models.alpha puts the alpha back where the output format holds it.
"""

from __future__ import annotations

import json
from typing import Any

import triton_python_backend_utils as pb_utils

from contracts import tensors
from contracts.metadata import EncodedOutput
from imaging.formats import CONTENT_TYPES
from imaging.options import output_options
from python_models.alpha import unpad_alphas, with_alpha
from python_models.model_config import configured_encoder
from python_models.tensors import bytes_tensor, input_images, input_json, json_tensor, request_parameters, respond_each


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        tensors.check_model_tensors(config, tensors.ENCODE)
        self.version = args["model_version"]
        self.encoder = configured_encoder(config)

    def execute(self, requests: list[Any]) -> list[Any]:
        return respond_each(requests, self._encode_request)

    def _encode_request(self, request: Any) -> Any:
        parameters = request_parameters(request)
        results, metadata = [], []
        images = input_images(request, tensors.BLURRED_IMAGE, tensors.BLURRED_SIZE)
        alphas = unpad_alphas(_optional_input(request, tensors.DECODED_ALPHA), _optional_input(request, tensors.ALPHA_SIZE), len(images))
        for pixels, alpha, info in zip(images, alphas, input_json(request, tensors.BLUR_INFO), strict=True):
            options = output_options(parameters, info["format"])
            pixels, alpha_kept = with_alpha(pixels, alpha, options.format)
            encoded = self.encoder.encode_native(pixels, options)
            results.append(encoded.data)
            output = EncodedOutput(
                format=options.format, content_type=CONTENT_TYPES[options.format], bytes=len(encoded.data),
                encoder=encoded.backend, alpha=alpha_kept,
            )
            metadata.append({**info, "output": output, "versions": {**info["versions"], "encode": self.version}})
        return pb_utils.InferenceResponse(output_tensors=[bytes_tensor(tensors.RESULT, results), json_tensor(tensors.METADATA, metadata)])


def _optional_input(request: Any, name: str) -> Any:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return None if tensor is None else tensor.as_numpy()
