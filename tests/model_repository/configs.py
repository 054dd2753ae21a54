"""The committed model_repository/<model>/config.pbtxt, read as the tests need it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"


def load_config(name: str) -> model_config_pb2.ModelConfig:
    """``name``'s committed config.pbtxt, parsed with Triton's own protobuf."""
    return text_format.Parse((REPOSITORY / name / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())


def committed_config(name: str) -> dict[str, Any]:
    """``name``'s committed config as a Python model receives it (``args["model_config"]``)."""
    return json_format.MessageToDict(load_config(name), preserving_proto_field_name=True)
