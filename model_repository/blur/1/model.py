"""Triton adapter: blur faces, plates and listed classes, record what was blurred (imaging.blur does
the work); with `verify`, detect faces and plates again on the result (BLS) and blur what remains."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from contracts import tensors
from contracts.metadata import AnonymizedImage, BlurApplied
from python_models.detections import detection_parameters
from python_models.metadata import blur_plan, blur_residual, check_classes, image_metadata, with_residual
from python_models.model_config import config_parameter, configured_blur, configured_region_blur, with_instance_device
from python_models.options import BlurOptions, parse_blur_options
from python_models.tensors import (
    error_response,
    image_tensors,
    infer_json,
    input_images,
    input_json,
    json_tensor,
    request_parameters,
)

DETECTION_INPUTS = (tensors.DETECTIONS, tensors.PLATE_DETECTIONS)


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = with_instance_device(json.loads(args["model_config"]), args)
        tensors.check_model_tensors(config, tensors.BLUR)
        self.version = args["model_version"]
        self.defaults = configured_blur(config)
        self.blur_regions = configured_region_blur(config)
        self.verify_models = (config_parameter(config, "faces_model", "faces"), config_parameter(config, "plates_model", "plates"))

    async def execute(self, requests: list[Any]) -> list[Any]:
        return list(await asyncio.gather(*(self._respond(request) for request in requests)))

    async def _respond(self, request: Any) -> Any:
        try:
            return await self._blur_request(request)
        except Exception as error:  # noqa: BLE001 - execute() must never raise
            return error_response(error)

    async def _blur_request(self, request: Any) -> Any:
        parameters = request_parameters(request)
        options = parse_blur_options(parameters, self.defaults)
        detections = zip(*(input_json(request, name) for name in DETECTION_INPUTS), strict=True)
        inputs = list(
            zip(input_images(request), input_json(request, tensors.IMAGE_INFO), detections, input_json(request, tensors.FACES), strict=True)
        )
        blurred_images, infos = [], []
        for pixels, image_info, records, faces in inputs:
            check_classes(records, options)
            boxes, blurred = blur_plan(records, faces, options, image_info["width"], image_info["height"])
            blurred_images.append(self.blur_regions(pixels, boxes, kind=options.kind, strength=options.strength))
            blur = BlurApplied(kind=options.kind, strength=options.strength)
            infos.append(image_metadata(image_info, records, faces, blurred, blur, self.version))
        if options.verify:
            blurred_images = await self._verify(blurred_images, infos, parameters, options)
        outputs = image_tensors(blurred_images, tensors.BLURRED_IMAGE, tensors.BLURRED_SIZE)
        return pb_utils.InferenceResponse(output_tensors=[*outputs, json_tensor(tensors.BLUR_INFO, infos)])

    async def _verify(
        self, images: list[np.ndarray], infos: list[AnonymizedImage], parameters: dict[str, Any], options: BlurOptions
    ) -> list[np.ndarray]:
        """Faces and plates detected again on the anonymised images; what they find is blurred again
        and counted in METADATA's `residual` (the records in `blurred` say `residual: true`)."""
        faces_model, plates_model = self.verify_models
        passed = detection_parameters(parameters)
        faces, plates = await asyncio.gather(
            infer_json(faces_model, images, tensors.FACES, parameters=passed),
            infer_json(plates_model, images, tensors.DETECTIONS, parameters=passed),
        )
        verified = []
        for index, (pixels, found_faces, found_plates) in enumerate(zip(images, faces, plates, strict=True)):
            reblurred, residual = blur_residual(pixels, found_plates, found_faces, options)
            verified.append(reblurred)
            infos[index] = with_residual(infos[index], residual, found_plates, found_faces)
        return verified
