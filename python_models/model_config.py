"""The objects each Python model builds in `initialize` from its config.pbtxt `parameters`.

Plain Python (no Triton import): config.pbtxt stays the single source of truth, and every model
reads the same knob the same way.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from imaging.codec import ImageDecoder, ImageEncoder
from python_models.options import BlurOptions, parse_class_list

if TYPE_CHECKING:
    from python_models.detectors import SessionSettings, TileSettings

ModelConfig = dict[str, Any]


def config_parameter(model_config: ModelConfig, key: str, default: str) -> str:
    """A `parameters { key: ... value: { string_value: ... } }` entry of config.pbtxt."""
    entry = model_config.get("parameters", {}).get(key)
    return entry["string_value"] if entry else default


def configured_decoder(model_config: ModelConfig) -> ImageDecoder:
    """`max_pixels` (the decompression-bomb limit) and `device` (auto, cpu, gpu)."""
    return ImageDecoder(
        max_pixels=int(config_parameter(model_config, "max_pixels", "100000000")),
        device=config_parameter(model_config, "device", "auto"),
    )


def configured_encoder(model_config: ModelConfig) -> ImageEncoder:
    return ImageEncoder(device=config_parameter(model_config, "device", "auto"))


def configured_blur(model_config: ModelConfig) -> BlurOptions:
    """The blur a request gets unless it says otherwise: `kind`, `strength`, `blur_classes`, `margin`."""
    return BlurOptions(
        kind=config_parameter(model_config, "kind", "gaussian"),
        strength=float(config_parameter(model_config, "strength", "1.0")),
        classes=parse_class_list(config_parameter(model_config, "blur_classes", "")),
        margin=float(config_parameter(model_config, "margin", "0.1")),
    )


def configured_session(model_config: ModelConfig) -> SessionSettings:
    """ONNX Runtime: `session_batch` images per run, `intra_op_threads` (0: its default)."""
    from python_models.detectors import SessionSettings  # onnxruntime: imported by detector models only

    return SessionSettings(
        batch=int(config_parameter(model_config, "session_batch", "8")),
        intra_op_threads=int(config_parameter(model_config, "intra_op_threads", "0")),
    )


def tile_settings(model_config: ModelConfig) -> TileSettings:
    """Detector tiling for huge images from the `tile_above`, `tile_size`, `tile_overlap` parameters."""
    from python_models.detectors import TileSettings  # onnxruntime: imported by detector models only

    return TileSettings.from_parameters(partial(config_parameter, model_config))
