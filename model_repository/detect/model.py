"""Triton adapter for every version of a YOLO detector (`detect`, and `plates` through a link):
decoded images -> detections JSON (python_models.detections describes the rows).

Each version folder holds model.onnx and labels.json (written by export/) and a link to this file.
The model's name comes from Triton, so one adapter serves both detectors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from python_models.batching import split_counts
from python_models.classes import standard_class_names
from python_models.detections import detector_record, request_threshold, should_run
from python_models.detectors import load_class_names
from python_models.model_config import configured_detector, configured_yolo
from python_models.tensors import error_response, input_images, json_tensor, request_parameters

OUTPUT = "detections"


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        version_dir = Path(args["model_repository"]) / args["model_version"]
        class_names = standard_class_names(load_class_names(version_dir / "labels.json"))
        self.settings = configured_detector(config, args["model_name"], args["model_version"], class_names)
        self.detector = configured_yolo(config, version_dir)

    def execute(self, requests: list[Any]) -> list[Any]:
        """One detector run over the images of every request that needs it, then split per request;
        a request with a bad threshold fails alone."""
        plans = [self._plan(request) for request in requests]
        running = [plan for plan in plans if isinstance(plan, tuple) and plan[2]]
        found = self.detector.detect([image for _, images, _ in running for image in images])
        per_plan = iter(split_counts(found, [len(images) for _, images, _ in running]))
        return [self._respond(plan, per_plan) for plan in plans]

    def _plan(self, request: Any) -> tuple[float, list[np.ndarray], bool] | Exception:
        try:
            parameters = request_parameters(request)
            return request_threshold(parameters, self.settings), input_images(request), should_run(parameters, self.settings)
        except Exception as error:  # noqa: BLE001 - execute() must never raise
            return error

    def _respond(self, plan: tuple[float, list[np.ndarray], bool] | Exception, found: Any) -> Any:
        if isinstance(plan, Exception):
            return error_response(plan)
        threshold, images, run = plan
        rows_per_image = next(found) if run else [None] * len(images)
        infos = [detector_record(self.settings, rows, threshold, OUTPUT) for rows in rows_per_image]
        return pb_utils.InferenceResponse(output_tensors=[json_tensor(OUTPUT, infos)])
