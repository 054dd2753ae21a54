"""The objects each Python model builds in `initialize` from its config.pbtxt `parameters`.

Plain Python (no Triton import): config.pbtxt stays the single source of truth, and every model
reads the same knob the same way.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any

from imaging.codec import ImageDecoder, ImageEncoder
from python_models.options import BlurOptions, parse_class_list

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import numpy as np

    from python_models.detections import DetectorSettings
    from python_models.detectors import CenterFaceDetector, SessionSettings, TileSettings, YoloDetector

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
    """The blur a request gets unless it says otherwise: `kind`, `strength`, `blur_classes`, `margin`;
    `always_blur`: classes blurred whatever the request lists (besides faces)."""
    return BlurOptions(
        kind=config_parameter(model_config, "kind", "gaussian"),
        strength=float(config_parameter(model_config, "strength", "1.0")),
        classes=parse_class_list(config_parameter(model_config, "blur_classes", "")),
        margin=float(config_parameter(model_config, "margin", "0.3")),
        always=parse_class_list(config_parameter(model_config, "always_blur", "license_plate")),
    )


INSTANCE_DEVICE_PARAMETERS = ("runtime_device", "torch_device")
"""Parameters naming a torch device: `cuda` means the GPU Triton gave the instance."""


def with_instance_device(model_config: ModelConfig, args: Mapping[str, Any]) -> ModelConfig:
    """``model_config`` with `cuda` in the torch device parameters turned into the instance's GPU
    (`cuda:N`, from initialize's ``args``) for a KIND_GPU instance; otherwise unchanged."""
    if args.get("model_instance_kind") != "GPU":
        return model_config
    device = f"cuda:{int(args.get('model_instance_device_id', 0))}"
    parameters = dict(model_config.get("parameters", {}))
    for key in INSTANCE_DEVICE_PARAMETERS:
        if parameters.get(key, {}).get("string_value") == "cuda":
            parameters[key] = {"string_value": device}
    return {**model_config, "parameters": parameters}


def configured_region_blur(model_config: ModelConfig) -> Callable[..., np.ndarray]:
    """`blur`'s region blur, called as blur_regions(pixels, boxes, kind=, strength=): `backend`
    `opencv` (imaging.blur, the default) or `torch` (imaging.gpu_blur on `torch_device`, default
    cuda; GPU hosts). ValueError for another backend."""
    backend = config_parameter(model_config, "backend", "opencv")
    if backend == "opencv":
        from imaging.blur import blur_regions

        return blur_regions
    if backend != "torch":
        raise ValueError(f"blur backend must be opencv or torch, got {backend!r}")
    from imaging import gpu_blur  # torch: GPU hosts only

    return partial(gpu_blur.blur_regions, device=config_parameter(model_config, "torch_device", "cuda"))


def configured_session(model_config: ModelConfig) -> SessionSettings:
    """ONNX Runtime: `session_batch` images per run, `intra_op_threads` (0: its default),
    `allow_spinning` ("0", the fallback as committed: idle threads sleep; "1": ONNX Runtime's default, they spin); GPU hosts: `runtime`
    (onnxruntime, torch, triton), `runtime_device` and `runtime_precision` (torch's device, fp32 or
    fp16), `network_model` (triton)."""
    from python_models.detectors import SessionSettings  # onnxruntime: imported by detector models only

    return SessionSettings(
        batch=int(config_parameter(model_config, "session_batch", "1")),
        intra_op_threads=int(config_parameter(model_config, "intra_op_threads", "0")),
        allow_spinning=config_parameter(model_config, "allow_spinning", "0") != "0",
        runtime=config_parameter(model_config, "runtime", "onnxruntime"),
        device=config_parameter(model_config, "runtime_device", "cpu"),
        network_model=config_parameter(model_config, "network_model", ""),
        precision=config_parameter(model_config, "runtime_precision", "fp32"),
    )


def tile_settings(model_config: ModelConfig) -> TileSettings:
    """Detector tiling for huge images from the `tile_above`, `tile_size`, `tile_overlap` parameters."""
    from python_models.detectors import TileSettings  # onnxruntime: imported by detector models only

    return TileSettings.from_parameters(partial(config_parameter, model_config))


PINNED_COPY = re.compile(r"\.v\d+$")
"""Suffix of the copies `python -m triton_launcher models pin N` generates (`detect.v2`)."""


def base_model_name(name: str) -> str:
    """`detect.v2` -> `detect`: a pinned copy reports under the model it copies."""
    return PINNED_COPY.sub("", name)


def configured_detector(
    model_config: ModelConfig, model: str, version: str, class_names: Mapping[int, str]
) -> DetectorSettings:
    """A detector model's `score_threshold` (rows below it are uncertain), `floor_threshold` (the
    score it runs at; defaults to score_threshold), `threshold_parameter` (the request parameter
    overriding score_threshold) and `run_when` (`always`, or `requested`: only for requests whose
    blur_classes name one of its classes). A pinned copy (`detect.v2`) is named as its model."""
    from python_models.detections import DetectorSettings

    threshold = config_parameter(model_config, "score_threshold", "0.25")
    return DetectorSettings(
        model=base_model_name(model),
        version=version,
        class_names=class_names,
        threshold=float(threshold),
        floor=floor_threshold(model_config, "0.25"),
        threshold_parameter=config_parameter(model_config, "threshold_parameter", ""),
        run_when=config_parameter(model_config, "run_when", "always"),
    )


def floor_threshold(model_config: ModelConfig, default: str) -> float:
    """The score a detector runs at: `floor_threshold`, else `score_threshold`, else ``default``."""
    return float(config_parameter(model_config, "floor_threshold", config_parameter(model_config, "score_threshold", default)))


def configured_yolo(model_config: ModelConfig, version_dir: Path) -> YoloDetector:
    """A YOLO (`detect`, `plates`) over ``version_dir``/model.onnx, run at its floor threshold; session
    and tiling from config.pbtxt."""
    from python_models.detectors import YoloDetector, YoloThresholds  # onnxruntime: imported by detector models only

    thresholds = YoloThresholds(
        score=floor_threshold(model_config, "0.25"),
        iou=float(config_parameter(model_config, "iou_threshold", "0.45")),
        max_detections=int(config_parameter(model_config, "max_detections", "100")),
    )
    return YoloDetector(version_dir / "model.onnx", thresholds, configured_session(model_config), tile_settings(model_config))


def configured_centerface(model_config: ModelConfig, version_dir: Path) -> CenterFaceDetector:
    """`faces`' CenterFace over ``version_dir``/model.onnx, with its `input_size`, run at its floor threshold."""
    from python_models.detectors import (  # onnxruntime: imported by detector models only
        CenterFaceDetector,
        FaceThresholds,
    )

    thresholds = FaceThresholds(
        score=floor_threshold(model_config, "0.5"),
        iou=float(config_parameter(model_config, "iou_threshold", "0.3")),
    )
    size = int(config_parameter(model_config, "input_size", "640"))
    return CenterFaceDetector(
        version_dir / "model.onnx", size, thresholds, configured_session(model_config), tile_settings(model_config)
    )
