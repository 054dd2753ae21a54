"""Triton adapter: blur faces and listed classes, record what was blurred (imaging.blur does the work)."""

from __future__ import annotations

import json
from typing import Any

import triton_python_backend_utils as pb_utils

from imaging.blur import blur_regions
from python_models.metadata import blur_plan, image_metadata
from python_models.model_config import configured_blur
from python_models.options import parse_blur_options
from python_models.tensors import (
    image_tensors,
    input_images,
    input_json,
    json_tensor,
    request_parameters,
    respond_each,
)


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        self.version = args["model_version"]
        self.defaults = configured_blur(config)

    def execute(self, requests: list[Any]) -> list[Any]:
        return respond_each(requests, self._blur_request)

    def _blur_request(self, request: Any) -> Any:
        options = parse_blur_options(request_parameters(request), self.defaults)
        inputs = zip(
            input_images(request),
            input_json(request, "image_info"),
            input_json(request, "detections"),
            input_json(request, "faces"),
        )
        blurred_images, infos = [], []
        for pixels, image_info, detections, faces in inputs:
            boxes, blurred = blur_plan(detections, faces, options, image_info["width"], image_info["height"])
            blurred_images.append(blur_regions(pixels, boxes, kind=options.kind, strength=options.strength))
            blur = {"kind": options.kind, "strength": options.strength, "versions": {"blur": self.version}}
            infos.append(image_metadata(image_info, detections, faces, blurred, blur))
        tensors = image_tensors(blurred_images, "blurred_image", "blurred_size")
        return pb_utils.InferenceResponse(output_tensors=[*tensors, json_tensor("blur_info", infos)])
