"""Triton adapter for every version of a YOLO detector (`detect`, and `plates` through a link):
decoded images -> detections JSON (python_models.detector_model does the requests, the pure
python_models.detections the decisions).

Each version folder holds model.onnx and labels.json (written by export/) and a link to this file.
The model's name comes from Triton, so one adapter serves both detectors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts import tensors
from python_models.classes import standard_class_names
from python_models.detector_model import DetectorModel
from python_models.detectors import load_class_names
from python_models.model_config import configured_detector, configured_yolo, with_instance_device


class TritonPythonModel(DetectorModel):
    output = tensors.DETECTIONS

    def initialize(self, args: dict[str, Any]) -> None:
        config = with_instance_device(json.loads(args["model_config"]), args)
        tensors.check_model_tensors(config, tensors.DETECTOR)
        version_dir = Path(args["model_repository"]) / args["model_version"]
        class_names = standard_class_names(load_class_names(version_dir / "labels.json"))
        self.settings = configured_detector(config, args["model_name"], args["model_version"], class_names)
        self.detector = configured_yolo(config, version_dir)
