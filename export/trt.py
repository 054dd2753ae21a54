"""`python -m export trt`: build a TensorRT plan (``model.plan``) beside a detector version's model.onnx.

Runs on the GPU host that will serve it (a plan is specific to its GPU and TensorRT version):
TensorRT's Python API parses the same model.onnx the CPU repository serves (the YOLO graphs carry
their NMS as ONNX NonMaxSuppression, which TensorRT's ONNX parser maps to its NMS layer), builds
in FP16 with one optimisation profile (batch 1 / opt / max; CenterFace's free height and width
from 32 px to the detector's largest canvas) and writes the raw serialized plan, not an
ultralytics ``.engine`` with its JSON header, which Triton's ``tensorrt_plan`` backend rejects.
``python -m export render --detectors tensorrt`` then serves the version as ``platform:
"tensorrt_plan"``. Written against the TensorRT 10 Python API documentation: no TensorRT host
has run it yet (README "GPU hosts").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import onnx

from export.errors import ExportError
from triton_launcher.files import write_atomic

logger = logging.getLogger(__name__)

PLAN_FILE = "model.plan"
ONNX_FILE = "model.onnx"
SIDE_MULTIPLE = 32
MIN_SIDE = 32
OPT_SIDE = 640
# config.pbtxt `max_detections` is fed per request; the plan accepts 1..MAX_DETECTIONS.
MAX_DETECTIONS = 1000
OPT_DETECTIONS = 100


@dataclass(frozen=True)
class ProfileShape:
    """One input's shapes in the optimisation profile; ``values`` (min, opt, max) for a shape-tensor input."""

    name: str
    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]
    values: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None


def round_up(value: int, multiple: int = SIDE_MULTIPLE) -> int:
    return int(math.ceil(value / multiple) * multiple)


def profile_shapes(onnx_path: Path, max_batch: int, opt_batch: int, max_side: int) -> list[ProfileShape]:
    """The profile for every graph input: a dynamic first dim is the batch (1 / ``opt_batch`` /
    ``max_batch``), other dynamic dims are image sides (32 / 640 / ``max_side`` rounded up to 32);
    [1] inputs (the YOLO graphs' thresholds) stay [1], ``max_detections`` 1 / 100 / 1000.
    ExportError when the batch bounds are not 1 <= opt_batch <= max_batch."""
    if not 1 <= opt_batch <= max_batch:
        raise ExportError(f"batch sizes must satisfy 1 <= opt ({opt_batch}) <= max ({max_batch})")
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    initializers = {item.name for item in graph.initializer}
    shapes = []
    for item in graph.input:
        if item.name in initializers:
            continue
        dims = [dim.dim_value if dim.dim_value > 0 else None for dim in item.type.tensor_type.shape.dim]
        ranges = [_dim_range(index, dim, opt_batch, max_batch, max_side) for index, dim in enumerate(dims)]
        low, middle, high = (tuple(bounds[position] for bounds in ranges) for position in range(3))
        values = ((1,), (OPT_DETECTIONS,), (MAX_DETECTIONS,)) if item.name == "max_detections" else None
        shapes.append(ProfileShape(item.name, low, middle, high, values))
    return shapes


def _dim_range(index: int, dim: int | None, opt_batch: int, max_batch: int, max_side: int) -> tuple[int, int, int]:
    """(min, opt, max) of one dim: fixed, the batch (first dim), or a free image side."""
    if dim is not None:
        return dim, dim, dim
    if index == 0:
        return 1, opt_batch, max_batch
    return MIN_SIDE, min(OPT_SIDE, round_up(max_side)), round_up(max_side)


def plan_path(version_dir: Path) -> Path:
    """Where a version's plan goes: ``<version>/model.plan`` (Triton's default for tensorrt_plan)."""
    return version_dir / PLAN_FILE


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module; ExportError naming what to install where it is absent."""
    try:
        import tensorrt
    except ImportError as error:
        raise ExportError(
            "TensorRT is not installed: on the GPU host run `pip install -e '.[gpu]'` (tensorrt) or use the NGC "
            f"tritonserver image; without it serve the detectors with `python -m export render` (torch) ({error})"
        ) from error
    return tensorrt


def build_plan(
    onnx_path: Path, destination: Path, shapes: Sequence[ProfileShape], *, fp16: bool = True, workspace_bytes: int = 4 << 30
) -> Path:
    """Parse ``onnx_path``, build with one profile of ``shapes``, write the raw plan to ``destination``
    (through a temporary file, renamed: Triton never sees half a plan). ExportError when TensorRT
    is absent, the parser refuses a node, or the build fails."""
    trt = import_tensorrt()
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(index)) for index in range(parser.num_errors))
        raise ExportError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    config.add_optimization_profile(_profile(builder, network, shapes))
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ExportError(f"TensorRT could not build {onnx_path} (see its log above)")
    write_atomic(destination, bytes(serialized))
    return destination


def _profile(builder: Any, network: Any, shapes: Sequence[ProfileShape]) -> Any:
    profile = builder.create_optimization_profile()
    by_name = {shape.name: shape for shape in shapes}
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        shape = by_name.get(tensor.name)
        if shape is None:
            raise ExportError(f"no profile for TensorRT input {tensor.name!r}")
        if tensor.is_shape_tensor and shape.values is not None:
            profile.set_shape_input(tensor.name, *shape.values)
        else:
            profile.set_shape(tensor.name, shape.min, shape.opt, shape.max)
    return profile


def build_version_plan(version_dir: Path, max_batch: int, opt_batch: int, max_side: int, fp16: bool = True) -> Path:
    """``version_dir``/model.onnx -> ``version_dir``/model.plan."""
    onnx_path = version_dir / ONNX_FILE
    if not onnx_path.is_file():
        raise ExportError(f"{version_dir} has no {ONNX_FILE}: export the model first")
    shapes = profile_shapes(onnx_path, max_batch, opt_batch, max_side)
    logger.info("building %s: %s", plan_path(version_dir), shapes)
    return build_plan(onnx_path, plan_path(version_dir), shapes, fp16=fp16)
