"""Triton adapter for every version of `faces`: decoded images -> faces JSON (CenterFace; class
from config.pbtxt's `class_name`; python_models.detector_model does the requests).

Each version folder holds model.onnx (written by export/) and a link to this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts import tensors
from python_models.classes import FACE
from python_models.detector_model import DetectorModel
from python_models.model_config import (
    config_parameter,
    configured_centerface,
    configured_detector,
    with_instance_device,
)


class TritonPythonModel(DetectorModel):
    output = tensors.FACES

    def initialize(self, args: dict[str, Any]) -> None:
        config = with_instance_device(json.loads(args["model_config"]), args)
        tensors.check_model_tensors(config, tensors.FACE_DETECTOR)
        version_dir = Path(args["model_repository"]) / args["model_version"]
        class_name = config_parameter(config, "class_name", FACE)
        self.settings = configured_detector(config, args["model_name"], args["model_version"], {0: class_name})
        self.detector = configured_centerface(config, version_dir)
