"""Triton adapter for every version of `faces`: decoded images -> faces JSON (CenterFace).

Each version folder holds model.onnx (written by export/) and a link to this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from python_models.batching import split_counts
from python_models.model_config import configured_centerface
from python_models.tensors import input_images, json_tensor


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        version_dir = Path(args["model_repository"]) / args["model_version"]
        self.version = args["model_version"]
        self.detector = configured_centerface(config, version_dir)

    def execute(self, requests: list[Any]) -> list[Any]:
        images = [input_images(request) for request in requests]
        found = self.detector.detect([image for group in images for image in group])
        return [self._respond(group) for group in split_counts(found, [len(group) for group in images])]

    def _respond(self, rows_per_image: list[np.ndarray]) -> Any:
        infos = [{"model": "faces", "version": self.version, "faces": self._describe(rows)} for rows in rows_per_image]
        return pb_utils.InferenceResponse(output_tensors=[json_tensor("faces", infos)])

    @staticmethod
    def _describe(rows: np.ndarray) -> list[dict[str, Any]]:
        return [{"box": [round(float(value), 1) for value in row[:4]], "score": round(float(row[4]), 4)} for row in rows]
