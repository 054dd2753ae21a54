"""Triton adapter: blurred pixels -> RESULT (encoded bytes) and METADATA (imaging.codec does the work)."""

from __future__ import annotations

import json
from typing import Any

import triton_python_backend_utils as pb_utils

from imaging.codec import parse_encode_options
from imaging.formats import CONTENT_TYPES, default_output_format
from python_models.model_config import configured_encoder
from python_models.tensors import bytes_tensor, input_images, input_json, json_tensor, request_parameters, respond_each


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        self.version = args["model_version"]
        self.encoder = configured_encoder(json.loads(args["model_config"]))

    def execute(self, requests: list[Any]) -> list[Any]:
        return respond_each(requests, self._encode_request)

    def _encode_request(self, request: Any) -> Any:
        parameters = request_parameters(request)
        results, metadata = [], []
        for pixels, info in zip(input_images(request, "blurred_image", "blurred_size"), input_json(request, "blur_info")):
            options = parse_encode_options(parameters, default_output_format(info["format"]))
            encoded = self.encoder.encode_native(pixels, options)
            results.append(encoded.data)
            output = {"format": options.format, "content_type": CONTENT_TYPES[options.format], "bytes": len(encoded.data),
                      "encoder": encoded.backend}
            metadata.append({**info, "output": output, "versions": {**info["versions"], "encode": self.version}})
        return pb_utils.InferenceResponse(output_tensors=[bytes_tensor("RESULT", results), json_tensor("METADATA", metadata)])
