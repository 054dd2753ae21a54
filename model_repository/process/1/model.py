"""Triton adapter: IMAGE + `operations` -> RESULT (one item per output image) + METADATA.

The chain runs in python_models.chain; detection steps call `detect`, `plates` and `faces` through BLS
(their batching and instances are reused). Triton 2.51's BLS requests carry no priority: they
queue at those models' default priority whatever the caller's was.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from contracts import parameters as names
from contracts import tensors
from python_models.chain import Regions, run_steps
from python_models.detections import detection_parameters
from python_models.model_config import config_parameter, configured_blur, configured_decoder, configured_encoder
from python_models.operation_specs import PixelBudget, anonymizing, encode_options, parse_operations
from python_models.options import BlurOptions, fail_closed_options
from python_models.process_outputs import DEFAULT_OPERATIONS, check_chain, describe_outputs, encode_pieces
from python_models.tensors import (
    bytes_matrix_tensor,
    error_response,
    infer_json,
    input_bytes,
    json_tensor,
    request_parameters,
)


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        tensors.check_model_tensors(config, tensors.PUBLIC)
        self.version = args["model_version"]
        self.decoder = configured_decoder(config)
        self.encoder = configured_encoder(config)
        self.max_outputs = int(config_parameter(config, "max_outputs", "64"))
        self.pixel_budget = PixelBudget.from_parameters(lambda key, default: config_parameter(config, key, default))
        self.models = tuple(config_parameter(config, f"{name}_model", name) for name in ("detect", "plates", "faces"))
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
        steps = anonymizing(parse_operations(parameters.get(names.OPERATIONS, DEFAULT_OPERATIONS), self.max_outputs))
        blur_defaults = fail_closed_options(parameters, self.blur_defaults)
        passed = detection_parameters(parameters)
        find_regions = functools.partial(self._find_regions, passed)
        results, metadata = [], []
        for data in input_bytes(request, tensors.IMAGE):
            decoded = self.decoder.decode(data)
            options = encode_options(steps, parameters, decoded.source_format)
            check_chain(steps, options, decoded.width, decoded.height)
            pieces = await run_steps(decoded.pixels, steps, find_regions, blur_defaults, self.pixel_budget)
            encoded = encode_pieces(pieces, options, self.encoder)
            results.append([item.data for item in encoded])
            metadata.append(describe_outputs(decoded, steps, pieces, encoded, options, self.version))
        return pb_utils.InferenceResponse(
            output_tensors=[bytes_matrix_tensor(tensors.RESULT, results), json_tensor(tensors.METADATA, metadata)]
        )

    async def _find_regions(self, detection: dict[str, str], images: list[np.ndarray], options: BlurOptions) -> list[Regions]:
        """detect, plates and faces at once (BLS) with the request's thresholds (``detection``) and the step's classes."""
        # `detect` runs only when asked for `person`
        passed = {**detection, names.BLUR_CLASSES: ",".join(sorted(options.classes))}
        detect, plates, faces = self.models
        people, found_plates, found_faces = await asyncio.gather(
            infer_json(detect, images, tensors.DETECTIONS, parameters=passed),
            infer_json(plates, images, tensors.DETECTIONS, parameters=passed),
            infer_json(faces, images, tensors.FACES, parameters=passed),
        )
        return [([person, plate], face) for person, plate, face in zip(people, found_plates, found_faces, strict=True)]
