"""The Triton side shared by the detector models (`detect`, `plates`, `faces`): requests -> plans
-> one detector run per kind of plan -> a JSON record per image. Importable only inside the
Python-backend stub; the decisions are python_models.detections' (pure, unit-tested)."""

from __future__ import annotations

from typing import Any

import triton_python_backend_utils as pb_utils

from python_models.detections import DetectionPlan, DetectorSettings, detector_record, plan_request, run_plans
from python_models.tensors import error_response, input_images, json_tensor, request_parameters


class DetectorModel:
    """Subclasses set ``settings`` (DetectorSettings), ``detector`` (a python_models.detectors
    detector) and ``output`` (the output tensor's name, also the record's rows key) in initialize."""

    settings: DetectorSettings
    detector: Any
    output: str

    def execute(self, requests: list[Any]) -> list[Any]:
        """A request with a bad parameter fails alone; the others share the detector runs."""
        plans = [self._plan(request) for request in requests]
        valid = [plan for plan in plans if isinstance(plan, DetectionPlan)]
        try:
            found = iter(run_plans(self.detector.detect, valid, self.settings.floor))
        except Exception as error:  # noqa: BLE001 - execute() must never raise
            return [error_response(error) for _ in requests]
        return [error_response(plan) if isinstance(plan, Exception) else self._respond(plan, next(found)) for plan in plans]

    def _plan(self, request: Any) -> DetectionPlan | Exception:
        try:
            return plan_request(request_parameters(request), input_images(request), self.settings)
        except Exception as error:  # noqa: BLE001 - answered as this request's error
            return error

    def _respond(self, plan: DetectionPlan, rows_per_image: list[Any] | None) -> Any:
        infos = []
        for index, image in enumerate(plan.images):
            rows = None if rows_per_image is None else rows_per_image[index]
            height, width = image.shape[:2]
            passes = self.detector.passes_for(width, height, plan.thorough) if rows is not None else []
            infos.append(detector_record(self.settings, rows, plan.threshold, self.output, passes))
        return pb_utils.InferenceResponse(output_tensors=[json_tensor(self.output, infos)])
