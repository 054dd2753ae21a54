"""Render the model repository for GPU hosts from the same config.pbtxt sources as the CPU one.

Every config goes through Triton's protobuf (``model_config_pb2`` + ``text_format``), so a
rendered file that Triton would reject fails here, at render time. What changes (README "GPU hosts"):

- every non-ensemble model: ``instance_group`` KIND_GPU on the chosen GPUs; dynamic batching and
  its priority levels are kept (a model without them is refused: nothing would batch on the GPU);
- codec models (those with a ``device`` parameter): ``device: gpu`` (nvJPEG / nvJPEG2000 through
  nvImageCodec); ``blur`` gets ``backend: torch`` on ``torch_device: cuda`` (imaging.gpu_blur);
- detectors (``detect``, ``plates``, ``faces``) by ``detectors``:
  ``torch``: their Python model runs the same model.onnx with torch on CUDA in FP16 autocast
  (python_models.torch_session; for hosts without TensorRT, such as the device machine);
  ``tensorrt``: their network becomes its own model ``<name>_net``: ``platform: "tensorrt_plan"``
  where the served version folder holds a ``model.plan`` (``python -m export trt``), else the
  ONNX model under the ``onnxruntime`` backend with the TensorRT execution accelerator in FP16;
  the Python detector (passes, tiles, merging) calls it through BLS (``runtime: triton``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from export.errors import ExportError
from triton_launcher.layout import CONFIG_FILE as CONFIG
from triton_launcher.layout import version_numbers

DETECTORS = ("detect", "plates", "faces")
NETWORK_SUFFIX = "_net"
DETECTOR_RUNTIMES = ("torch", "tensorrt")
PLAN = "model.plan"
ONNX = "model.onnx"
HEADER = "# Rendered for GPU hosts by `python -m export render` from model_repository/{model}/config.pbtxt: edit that file.\n"
TRT_ACCELERATOR = {"precision_mode": "FP16", "max_workspace_size_bytes": str(2 << 30), "trt_engine_cache_enable": "1"}
ONNX_TO_TRITON = {
    onnx.TensorProto.FLOAT: mc.TYPE_FP32,
    onnx.TensorProto.FLOAT16: mc.TYPE_FP16,
    onnx.TensorProto.INT64: mc.TYPE_INT64,
    onnx.TensorProto.INT32: mc.TYPE_INT32,
    onnx.TensorProto.UINT8: mc.TYPE_UINT8,
}


@dataclass(frozen=True)
class GpuTarget:
    """What to render: the detectors' runtime (``torch`` or ``tensorrt``), instances per model and GPU ids.

    ``device`` ``cpu`` renders the same repository with KIND_CPU instances, the codecs left on
    their CPU default and torch on the CPU: the GPU repository's wiring and torch paths run
    through a real tritonserver where no GPU is (tests/server/test_gpu_repository_on_cpu.py).
    """

    detectors: str = "torch"
    instances: int = 1
    gpus: tuple[int, ...] = field(default=(0,))
    session_batch: int = 16
    device: str = "cuda"

    def __post_init__(self) -> None:
        if self.detectors not in DETECTOR_RUNTIMES:
            raise ExportError(f"detectors must be one of {list(DETECTOR_RUNTIMES)}, got {self.detectors!r}")
        if self.device not in ("cuda", "cpu"):
            raise ExportError(f"device must be cuda or cpu, got {self.device!r}")
        if self.device == "cpu" and self.detectors != "torch":
            raise ExportError("device cpu renders torch detectors only (TensorRT needs a GPU)")
        if self.instances < 1 or not self.gpus or min(self.gpus) < 0 or self.session_batch < 1:
            raise ExportError("instances and session_batch must be >= 1 and gpus a non-empty list of ids >= 0")
        twice = sorted({gpu for gpu in self.gpus if self.gpus.count(gpu) > 1})
        if twice:  # Triton would start `instances` on that GPU once per mention
            raise ExportError(f"GPU {twice[0]} is named twice in gpus {list(self.gpus)}")


def parse_config(path: Path) -> mc.ModelConfig:
    """config.pbtxt as Triton's ModelConfig; ExportError naming the file when it does not parse."""
    try:
        return text_format.Parse(path.read_text(), mc.ModelConfig())
    except text_format.ParseError as error:
        raise ExportError(f"{path}: {error}") from error


def write_config(path: Path, config: mc.ModelConfig, source_model: str) -> None:
    text = text_format.MessageToString(config)
    parse_config_text(text, path)  # what is written must read back
    path.write_text(HEADER.format(model=source_model) + text)


def parse_config_text(text: str, path: Path) -> mc.ModelConfig:
    try:
        return text_format.Parse(text, mc.ModelConfig())
    except text_format.ParseError as error:
        raise ExportError(f"{path}: rendered config does not parse: {error}") from error


def render_gpu_repository(source: Path, destination: Path, target: GpuTarget = GpuTarget()) -> list[Path]:
    """Write the GPU repository for ``source`` into ``destination`` (absent or empty); return its
    model folders. Version folders are copied (links kept as links). ExportError when the
    destination is a file, lies inside ``source`` or holds files, a config does not parse or lacks dynamic batching, or a detector
    has no version with a model."""
    if destination.exists() and not destination.is_dir():
        raise ExportError(f"{destination} is not a folder: render into a new folder")
    if destination.resolve().is_relative_to(source.resolve()):
        raise ExportError(f"{destination} is inside the source repository {source}: render into a folder outside it")
    if destination.exists() and any(destination.iterdir()):
        raise ExportError(f"{destination} is not empty: render into a new folder")
    models = sorted(path for path in source.iterdir() if (path / CONFIG).is_file())
    if not models:
        raise ExportError(f"{source} holds no model (no */{CONFIG})")
    shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True, ignore=_ignored)
    rendered = []
    for model_dir in (destination / path.name for path in models):
        for path in [model_dir / CONFIG, *sorted((model_dir / "configs").glob("*.pbtxt"))]:
            config = parse_config(path)
            render_config(config, target)
            write_config(path, config, model_dir.name)
        rendered.append(model_dir)
        if target.detectors == "tensorrt" and model_dir.name in DETECTORS:
            rendered.append(render_network_model(model_dir, target))
    return rendered


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name == "__pycache__" or name.startswith(".staging")}


def render_config(config: mc.ModelConfig, target: GpuTarget) -> None:
    """Turn one CPU model config into its GPU form, in place (see the module docstring)."""
    if config.platform == "ensemble":
        return
    _require_batching(config)
    _gpu_instances(config, target)
    if "device" in config.parameters and target.device == "cuda":
        config.parameters["device"].string_value = "gpu"
    if config.name == "blur":
        config.parameters["backend"].string_value = "torch"
        config.parameters["torch_device"].string_value = target.device
    if config.name in DETECTORS:
        config.parameters["session_batch"].string_value = str(target.session_batch)
        if target.detectors == "torch":
            config.parameters["runtime"].string_value = "torch"
            config.parameters["runtime_device"].string_value = target.device
            config.parameters["runtime_precision"].string_value = "fp16" if target.device == "cuda" else "fp32"
        else:
            config.parameters["runtime"].string_value = "triton"
            config.parameters["network_model"].string_value = config.name + NETWORK_SUFFIX


def _require_batching(config: mc.ModelConfig) -> None:
    batching = config.dynamic_batching
    if config.max_batch_size < 1 or not config.HasField("dynamic_batching") or batching.priority_levels < 1:
        raise ExportError(f"{config.name}: a GPU model needs max_batch_size, dynamic_batching and priority_levels")


def _gpu_instances(config: mc.ModelConfig, target: GpuTarget) -> None:
    del config.instance_group[:]
    if target.device == "cpu":
        config.instance_group.add(count=target.instances, kind=mc.ModelInstanceGroup.KIND_CPU)
    else:
        config.instance_group.add(count=target.instances, kind=mc.ModelInstanceGroup.KIND_GPU, gpus=list(target.gpus))


def served_version_dirs(model_dir: Path) -> list[Path]:
    """Numbered version folders holding a model.onnx or model.plan, oldest first; none when ``model_dir`` does not exist."""
    versions = (model_dir / str(number) for number in version_numbers(model_dir))
    return [path for path in versions if (path / ONNX).exists() or (path / PLAN).exists()]


def render_network_model(detector_dir: Path, target: GpuTarget) -> Path:
    """``<detector>_net``: the detector's network alone, TensorRT plan or ONNX Runtime + TensorRT."""
    versions = served_version_dirs(detector_dir)
    if not versions:
        raise ExportError(f"{detector_dir} has no version with {ONNX}: run `python -m export ensure` first")
    detector = parse_config(detector_dir / CONFIG)
    network_dir = detector_dir.with_name(detector_dir.name + NETWORK_SUFFIX)
    network_dir.mkdir()
    newest = versions[-1]
    for version in versions:
        (network_dir / version.name).mkdir()
        for name in (PLAN, ONNX):
            if (version / name).exists():
                shutil.copy2(version / name, network_dir / version.name / name)
    config = network_config(network_dir.name, newest / ONNX, (newest / PLAN).exists(), detector, target)
    write_config(network_dir / CONFIG, config, detector_dir.name)
    return network_dir


def network_config(
    name: str, onnx_path: Path, has_plan: bool, detector: mc.ModelConfig, target: GpuTarget
) -> mc.ModelConfig:
    """The network model's config from its ONNX graph's inputs and outputs.

    A graph whose every input has a dynamic first dim batches (max_batch_size 16, dynamic
    batching with the detector's priority levels); the YOLO graphs' [1] threshold inputs are
    not batched, so those take whole batches from their Python detector (max_batch_size 0).
    """
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    initializers = {item.name for item in graph.initializer}
    inputs = [item for item in graph.input if item.name not in initializers]
    batched = all(_dims(item)[:1] and isinstance(_dims(item)[0], str) for item in inputs)
    config = mc.ModelConfig(name=name, max_batch_size=detector.max_batch_size if batched else 0)
    if has_plan:
        config.platform = "tensorrt_plan"
    else:
        config.backend = "onnxruntime"
        accelerator = config.optimization.execution_accelerators.gpu_execution_accelerator.add(name="tensorrt")
        accelerator.parameters.update(TRT_ACCELERATOR)
    for item, tensors in [(item, config.input) for item in inputs] + [(item, config.output) for item in graph.output]:
        dims = [dim if isinstance(dim, int) and dim > 0 else -1 for dim in _dims(item)]
        tensors.add(name=item.name, data_type=ONNX_TO_TRITON[item.type.tensor_type.elem_type], dims=dims[1:] if batched else dims)
    if batched:
        config.dynamic_batching.CopyFrom(detector.dynamic_batching)
    config.version_policy.CopyFrom(detector.version_policy)
    _gpu_instances(config, target)
    return config


def _dims(item: onnx.ValueInfoProto) -> list[int | str]:
    return [dim.dim_param or dim.dim_value for dim in item.type.tensor_type.shape.dim]
