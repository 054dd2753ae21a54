"""The GPU repository rendered from model_repository/: every config parsed back through Triton's protobuf."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from export.cli import main
from export.errors import ExportError
from export.gpu_repository import DETECTORS, GpuTarget, render_gpu_repository

SOURCE = Path(__file__).resolve().parents[2] / "model_repository"
KIND_GPU = mc.ModelInstanceGroup.KIND_GPU


def load(model_dir: Path) -> mc.ModelConfig:
    return text_format.Parse((model_dir / "config.pbtxt").read_text(), mc.ModelConfig())


def parameter(config: mc.ModelConfig, key: str) -> str:
    return config.parameters[key].string_value


@pytest.fixture(scope="module")
def torch_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not any(SOURCE.glob("faces/*/model.onnx")):
        pytest.fail("model_repository has no exported faces model: run `python -m export ensure` first")
    destination = tmp_path_factory.mktemp("gpu") / "repository"
    render_gpu_repository(SOURCE, destination, GpuTarget(detectors="torch", gpus=(0,)))
    return destination


def test_every_model_runs_on_the_gpu_and_keeps_batching_and_priorities(torch_repository: Path) -> None:
    models = sorted(path.parent.name for path in SOURCE.glob("*/config.pbtxt"))
    assert sorted(path.parent.name for path in torch_repository.glob("*/config.pbtxt")) == models
    for name in models:
        source, rendered = load(SOURCE / name), load(torch_repository / name)
        if source.platform == "ensemble":
            assert rendered == source
            continue
        assert [(group.kind, list(group.gpus), group.count) for group in rendered.instance_group] == [(KIND_GPU, [0], 1)]
        assert rendered.dynamic_batching == source.dynamic_batching
        assert rendered.dynamic_batching.priority_levels == 3
        assert rendered.max_batch_size == source.max_batch_size
        assert list(rendered.input) == list(source.input) and list(rendered.output) == list(source.output)


def test_codecs_blur_and_detectors_switch_to_their_gpu_paths(torch_repository: Path) -> None:
    for name in ("decode", "encode", "transcode", "process"):
        assert parameter(load(torch_repository / name), "device") == "gpu"
    blur = load(torch_repository / "blur")
    assert (parameter(blur, "backend"), parameter(blur, "torch_device")) == ("torch", "cuda")
    for name in DETECTORS:
        config = load(torch_repository / name)
        assert (parameter(config, "runtime"), parameter(config, "runtime_device")) == ("torch", "cuda")
        assert parameter(config, "runtime_precision") == "fp16"
        assert parameter(config, "session_batch") == "16"
        assert parameter(config, "score_threshold") == parameter(load(SOURCE / name), "score_threshold")
    assert (torch_repository / "faces" / "1" / "model.onnx").stat().st_size > 1_000_000
    assert (torch_repository / "faces" / "1" / "model.py").is_symlink()


def test_tensorrt_detectors_become_network_models(tmp_path: Path) -> None:
    source = tmp_path / "source"
    for name in ("faces", "plates", "pipeline"):
        shutil.copytree(SOURCE / name, source / name, symlinks=True)
    plan_version = sorted(path for path in (source / "faces").iterdir() if path.name.isdigit())[-1]
    (plan_version / "model.plan").write_bytes(b"serialized engine")  # render only looks for the file
    destination = tmp_path / "gpu"
    render_gpu_repository(source, destination, GpuTarget(detectors="tensorrt", instances=2, gpus=(0, 1)))

    faces_net, plates_net = load(destination / "faces_net"), load(destination / "plates_net")
    assert faces_net.platform == "tensorrt_plan" and not faces_net.backend
    assert (destination / "faces_net" / plan_version.name / "model.plan").read_bytes() == b"serialized engine"
    assert [(item.name, item.data_type, list(item.dims)) for item in faces_net.input] == [("images", mc.TYPE_FP32, [3, -1, -1])]
    assert faces_net.max_batch_size == 16 and faces_net.dynamic_batching.priority_levels == 3
    assert plates_net.backend == "onnxruntime" and not plates_net.platform
    (accelerator,) = plates_net.optimization.execution_accelerators.gpu_execution_accelerator
    assert accelerator.name == "tensorrt" and accelerator.parameters["precision_mode"] == "FP16"
    assert plates_net.max_batch_size == 0  # [1] threshold inputs: its Python detector sends whole batches
    assert [item.name for item in plates_net.input] == ["images", "score_threshold", "iou_threshold", "max_detections"]
    for net in (faces_net, plates_net):
        assert [(group.kind, list(group.gpus), group.count) for group in net.instance_group] == [(KIND_GPU, [0, 1], 2)]
    faces = load(destination / "faces")
    assert (parameter(faces, "runtime"), parameter(faces, "network_model")) == ("triton", "faces_net")


def test_refuses_a_model_without_dynamic_batching(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE / "decode", source / "decode", symlinks=True)
    config = load(source / "decode")
    config.ClearField("dynamic_batching")
    (source / "decode" / "config.pbtxt").write_text(text_format.MessageToString(config))
    with pytest.raises(ExportError, match="decode: a GPU model needs max_batch_size, dynamic_batching"):
        render_gpu_repository(source, tmp_path / "gpu")


def test_refuses_a_destination_with_files_and_a_bad_target(tmp_path: Path) -> None:
    (tmp_path / "gpu").mkdir()
    (tmp_path / "gpu" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty"):
        render_gpu_repository(SOURCE, tmp_path / "gpu")
    assert (tmp_path / "gpu" / "keep.txt").read_text() == "mine"
    with pytest.raises(ExportError, match="detectors must be one of"):
        GpuTarget(detectors="cuda")


def test_refuses_a_destination_that_is_a_file_or_inside_the_source_and_gpus_named_twice(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("mine")
    with pytest.raises(ExportError, match="not a folder"):
        render_gpu_repository(SOURCE, tmp_path / "file")
    assert (tmp_path / "file").read_text() == "mine"
    with pytest.raises(ExportError, match="inside the source repository"):
        render_gpu_repository(SOURCE, SOURCE / "gpu")
    assert not (SOURCE / "gpu").exists()
    with pytest.raises(ExportError, match="GPU 0 is named twice"):
        GpuTarget(gpus=(0, 0))


def test_render_command_prints_the_model_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE / "encode", source / "encode", symlinks=True)
    assert main(["--quiet", "render", "--repository", str(source), "--output", str(tmp_path / "gpu"), "--gpus", "1"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "gpu" / "encode")]
    assert list(load(tmp_path / "gpu" / "encode").instance_group[0].gpus) == [1]
    assert main(["--quiet", "render", "--repository", str(source), "--output", str(tmp_path / "x"), "--gpus", "a"]) == 1
