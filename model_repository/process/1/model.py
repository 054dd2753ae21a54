"""Triton adapter: IMAGE + `operations` -> RESULT (one item per output image) + METADATA.

The chain runs in python_models.chain; detection steps call `detect` and `faces` through BLS
(their batching and instances are reused). Triton 2.51's BLS requests carry no priority: they
queue at those models' default priority whatever the caller's was.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from imaging.formats import default_output_format
from python_models.chain import Regions, run_steps
from python_models.operation_specs import encode_options, parse_operations
from python_models.model_config import config_parameter, configured_blur, configured_decoder, configured_encoder
from python_models.processing import DEFAULT_OPERATIONS, check_chain, describe_outputs, encode_pieces
from python_models.tensors import bytes_matrix_tensor, error_response, infer_json, input_bytes, json_tensor, request_parameters


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        self.version = args["model_version"]
        self.decoder = configured_decoder(config)
        self.encoder = configured_encoder(config)
        self.max_outputs = int(config_parameter(config, "max_outputs", "64"))
        self.models = (config_parameter(config, "detect_model", "detect"), config_parameter(config, "faces_model", "faces"))
        self.blur_defaults = configured_blur(config)

    async def execute(self, requests: list[Any]) -> list[Any]:
        return list(await asyncio.gather(*(self._respond(request) for request in requests)))

    async def _respond(self, request: Any) -> Any:
        try:
            return await self._process(request)
        except Exception as error:  # noqa: BLE001 - execute() must never raise
            return error_response(error)

    async def _process(self, request: Any) -> Any:
        parameters = request_parameters(request)
        steps = parse_operations(parameters.get("operations", DEFAULT_OPERATIONS), self.max_outputs)
        results, metadata = [], []
        for data in input_bytes(request, "IMAGE"):
            decoded = self.decoder.decode(data)
            options = encode_options(steps, parameters, default_output_format(decoded.source_format))
            check_chain(steps, options, decoded.width, decoded.height)
            pieces = await run_steps(decoded.pixels, steps, self._find_regions, self.blur_defaults)
            encoded = encode_pieces(pieces, options, self.encoder)
            results.append([item.data for item in encoded])
            metadata.append(describe_outputs(decoded, steps, pieces, encoded, options, self.version))
        return pb_utils.InferenceResponse(output_tensors=[bytes_matrix_tensor("RESULT", results), json_tensor("METADATA", metadata)])

    async def _find_regions(self, images: list[np.ndarray]) -> list[Regions]:
        detect, faces = self.models
        detections, found = await asyncio.gather(infer_json(detect, images, "detections"), infer_json(faces, images, "faces"))
        return list(zip(detections, found))
