"""`python -m export trt`: the optimisation profile, where the plan goes, and a clear refusal without TensorRT."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from export.cli import main
from export.errors import ExportError
from export.trt import build_version_plan, import_tensorrt, plan_path, profile_shapes

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
FACES = next(iter(sorted(REPOSITORY.glob("faces/*/model.onnx"))), None)
PLATES = next(iter(sorted(REPOSITORY.glob("plates/*/model.onnx"))), None)
needs_models = pytest.mark.skipif(FACES is None or PLATES is None, reason="no exported models: run `python -m export ensure`")


@needs_models
def test_centerface_profile_covers_batches_and_every_canvas_side() -> None:
    (images,) = profile_shapes(FACES, max_batch=16, opt_batch=8, max_side=1500)
    assert (images.name, images.min, images.opt, images.max) == ("images", (1, 3, 32, 32), (8, 3, 640, 640), (16, 3, 1504, 1504))
    assert images.values is None


@needs_models
def test_yolo_profile_keeps_its_canvas_and_threshold_inputs() -> None:
    shapes = {shape.name: shape for shape in profile_shapes(PLATES, max_batch=16, opt_batch=4, max_side=1536)}
    assert list(shapes) == ["images", "score_threshold", "iou_threshold", "max_detections"]
    assert (shapes["images"].min, shapes["images"].opt, shapes["images"].max) == ((1, 3, 640, 640), (4, 3, 640, 640), (16, 3, 640, 640))
    assert shapes["score_threshold"].max == (1,) and shapes["max_detections"].values == ((1,), (100,), (1000,))
    with pytest.raises(ExportError, match=r"1 <= opt \(32\) <= max \(16\)"):
        profile_shapes(PLATES, max_batch=16, opt_batch=32, max_side=640)


def test_the_plan_is_model_plan_in_the_version_folder(tmp_path: Path) -> None:
    assert plan_path(tmp_path / "faces" / "3") == tmp_path / "faces" / "3" / "model.plan"
    with pytest.raises(ExportError, match="has no model.onnx"):
        build_version_plan(tmp_path, max_batch=16, opt_batch=8, max_side=640)


def test_without_tensorrt_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import tensorrt -> ImportError, as on a host without it
    with pytest.raises(ExportError, match=r"TensorRT is not installed: on the GPU host run `pip install -e '.\[gpu\]'`"):
        import_tensorrt()


@needs_models
def test_trt_command_refuses_cleanly_and_leaves_no_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    shutil.copytree(FACES.parent.parent, tmp_path / "faces", symlinks=True)
    assert main(["--quiet", "trt", "--repository", str(tmp_path), "--models", "faces"]) == 1
    assert "TensorRT is not installed" in caplog.text
    assert not list(tmp_path.glob("faces/*/*.plan*")) and not list(tmp_path.glob("faces/*/.model.plan*"))
    assert main(["--quiet", "trt", "--repository", str(tmp_path), "--models", "faces,cars"]) == 1
    assert "trt builds plans for ['detect', 'plates', 'faces'], got 'faces,cars'" in caplog.text


@needs_models
@pytest.mark.gpu
def test_builds_a_raw_plan_tensorrt_deserializes(tmp_path: Path) -> None:
    trt = pytest.importorskip("tensorrt")
    shutil.copytree(FACES.parent, tmp_path / "1", symlinks=True)
    plan = build_version_plan(tmp_path / "1", max_batch=4, opt_batch=2, max_side=640)
    engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(plan.read_bytes())
    assert engine is not None and engine.num_io_tensors == 5  # images -> heatmap, scale, offset, landmarks
