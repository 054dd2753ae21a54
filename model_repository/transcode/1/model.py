"""Triton adapter: IMAGE bytes -> RESULT in the requested format + METADATA (python_models.transcoding)."""

from __future__ import annotations

import json
from typing import Any

import triton_python_backend_utils as pb_utils

from contracts import tensors
from python_models.model_config import configured_decoder, configured_encoder
from python_models.tensors import bytes_tensor, input_bytes, json_tensor, request_parameters, respond_each
from python_models.transcoding import transcode


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        tensors.check_model_tensors(config, tensors.PUBLIC)
        self.version = args["model_version"]
        self.decoder = configured_decoder(config)
        self.encoder = configured_encoder(config)

    def execute(self, requests: list[Any]) -> list[Any]:
        return respond_each(requests, self._transcode_request)

    def _transcode_request(self, request: Any) -> Any:
        parameters = request_parameters(request)
        results, metadata = [], []
        for data in input_bytes(request, tensors.IMAGE):
            encoded, info = transcode(data, parameters, self.decoder, self.encoder, self.version)
            results.append(encoded)
            metadata.append(info)
        return pb_utils.InferenceResponse(output_tensors=[bytes_tensor(tensors.RESULT, results), json_tensor(tensors.METADATA, metadata)])
