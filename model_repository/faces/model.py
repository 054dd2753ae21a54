"""Triton adapter for every version of `faces`: decoded images -> faces JSON (CenterFace; rows
described by python_models.detections, class `face`).

Each version folder holds model.onnx (written by export/) and a link to this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from python_models.batching import split_counts
from python_models.classes import FACE
from python_models.detections import detector_record, request_threshold
from python_models.model_config import config_parameter, configured_centerface, configured_detector
from python_models.tensors import error_response, input_images, json_tensor, request_parameters

OUTPUT = "faces"


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        version_dir = Path(args["model_repository"]) / args["model_version"]
        class_name = config_parameter(config, "class_name", FACE)
        self.settings = configured_detector(config, args["model_name"], args["model_version"], {0: class_name})
        self.detector = configured_centerface(config, version_dir)

    def execute(self, requests: list[Any]) -> list[Any]:
        """One detector run over the images of every request, then split per request; a request with
        a bad face_threshold fails alone."""
        plans = [self._plan(request) for request in requests]
        running = [plan for plan in plans if isinstance(plan, tuple)]
        found = self.detector.detect([image for _, images in running for image in images])
        per_plan = iter(split_counts(found, [len(images) for _, images in running]))
        return [self._respond(plan, per_plan) for plan in plans]

    def _plan(self, request: Any) -> tuple[float, list[np.ndarray]] | Exception:
        try:
            return request_threshold(request_parameters(request), self.settings), input_images(request)
        except Exception as error:  # noqa: BLE001 - execute() must never raise
            return error

    def _respond(self, plan: tuple[float, list[np.ndarray]] | Exception, found: Any) -> Any:
        if isinstance(plan, Exception):
            return error_response(plan)
        threshold, _ = plan
        infos = [detector_record(self.settings, rows, threshold, OUTPUT) for rows in next(found)]
        return pb_utils.InferenceResponse(output_tensors=[json_tensor(OUTPUT, infos)])
