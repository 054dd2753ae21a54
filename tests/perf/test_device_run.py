"""The CPU side of the device run: carry preparation, unpacking, arguments, the report from fake figures."""

from __future__ import annotations

import json
import os
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from perf import device_run
from perf.device_carry import (
    MANIFEST,
    SERVER_ARCHIVE,
    WHEELS,
    CarryFile,
    pack_server,
    part_limit,
    plan_parts,
    prepare,
    unpack,
    working_tree_bytes,
)
from perf.device_report import render_report
from perf.errors import ConfigError, MeasurementError

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
MiB = 1 << 20


def fake_site_packages(root: Path) -> Path:
    """The layout of nvidia-pytriton's install, with tiny files."""
    server = root / "pytriton" / "tritonserver"
    for relative in ("bin/tritonserver", "backends/python/libtriton_python.so",
                     "python_backend_stubs/3.12/triton_python_backend_stub", "python_backend_stubs/3.11/triton_python_backend_stub"):
        (server / relative).parent.mkdir(parents=True, exist_ok=True)
        (server / relative).write_bytes(b"x" * 100)
    (root / "pytriton" / "__init__.py").write_text("")
    (root / "nvidia_pytriton.libs").mkdir()
    (root / "nvidia_pytriton.libs" / "libtritonserver.so").write_bytes(b"lib")
    (root / "nvidia_pytriton.libs" / "libpython3-abc.13.so.1.0").write_bytes(b"other python")
    return root


def fake_download(requirements: Sequence[str], destination: Path) -> None:
    """Small wheels: zips of one module each, the nvidia ones sharing the `nvidia` namespace folder."""
    for requirement in requirements:
        name, version = requirement.split("==")
        module = name.replace("-", "_")
        path = f"nvidia/{module}/__init__.py" if module.startswith("nvidia_") else f"{module}/__init__.py"
        with zipfile.ZipFile(destination / f"{module}-{version}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(path, f"__version__ = {version!r}\n")


def test_parts_hold_every_file_within_the_limit() -> None:
    files = [CarryFile(f"f{index}", size * MiB, "model") for index, size in enumerate([44, 35, 32, 18, 12, 9, 7, 6, 5, 2])]
    parts = plan_parts(files, part_bytes=60 * MiB)
    assert len(parts) == 3
    assert sorted(item.path for part in parts for item in part) == sorted(item.path for item in files)
    assert all(sum(item.size for item in part) <= 60 * MiB for part in parts)
    with pytest.raises(ConfigError, match="f0 is 44.0 MiB, more than a part .40 MiB."):
        plan_parts(files, part_bytes=40 * MiB)
    with pytest.raises(ConfigError, match="need 4 parts of 50 MiB, more than 3"):
        plan_parts(files, part_bytes=50 * MiB)


def test_parts_leave_room_for_the_working_tree(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    tree = working_tree_bytes(root)
    assert tree is not None and (root / "README.md").stat().st_size < tree < 32 * MiB
    assert part_limit(root) == 64 * MiB - tree - MiB // 2
    assert working_tree_bytes(tmp_path) is None and part_limit(tmp_path) == 60 * MiB  # not a git checkout


def test_server_archive_keeps_only_the_device_pythons_stub(tmp_path: Path) -> None:
    archive = pack_server(fake_site_packages(tmp_path / "site"), tmp_path / SERVER_ARCHIVE)
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert "pytriton/tritonserver/python_backend_stubs/3.12/triton_python_backend_stub" in names
    assert "pytriton/tritonserver/bin/tritonserver" in names and "nvidia_pytriton.libs/libtritonserver.so" in names
    assert not any("3.11" in name or "libpython" in name for name in names)
    with pytest.raises(ConfigError, match="no Python 3.9 stub"):
        pack_server(tmp_path / "site", tmp_path / "other.tar.xz", python="3.9")


@pytest.mark.skipif(not any(REPOSITORY.glob("faces/*/model.onnx")), reason="no exported models: run `python -m export ensure`")
def test_prepare_then_unpack_gives_the_device_what_it_needs(tmp_path: Path) -> None:
    carry = tmp_path / ".device"
    parts = prepare(carry, REPOSITORY, {"zidane.jpg": b"jpeg", "zidane.jp2": b"jp2"}, download=fake_download,
                    site_packages=fake_site_packages(tmp_path / "site"))
    manifest = json.loads((carry / MANIFEST).read_text())
    assert len(manifest["parts"]) == len(parts) <= 3 and manifest["wheels"] == list(WHEELS)
    carried = {item["path"] for part in manifest["parts"] for item in part}
    assert {"inputs/zidane.jpg", SERVER_ARCHIVE, "wheels/numpy-1.26.4-py3-none-any.whl"} <= carried
    assert {path for path in carried if path.startswith("models/")} >= {"models/faces/1/model.onnx", "models/detect/1/labels.json"}
    assert not (carry / "staging").exists()

    device_root = tmp_path / "device"
    repository = device_root / "model_repository"
    (repository / "faces").mkdir(parents=True)
    (repository / "faces" / "model.py").write_text("# adapter")
    site, inputs = device_root / "site", device_root / "inputs"
    for number in range(1, len(parts) + 1):
        unpack(carry / f"part{number}", site, repository, inputs)
    assert (site / "numpy" / "__init__.py").read_text() == "__version__ = '1.26.4'\n"
    assert {path.name for path in (site / "nvidia").iterdir()} >= {"nvidia_nvimgcodec_cu12", "nvidia_nvjpeg_cu12", "nvidia_nvjpeg2k_cu12"}
    assert (site / "pytriton" / "tritonserver" / "bin" / "tritonserver").is_file()
    assert (repository / "faces" / "1" / "model.onnx").stat().st_size == (REPOSITORY / "faces" / "1" / "model.onnx").stat().st_size
    assert (repository / "faces" / "1" / "model.py").readlink() == Path("../model.py")
    assert (inputs / "zidane.jp2").read_bytes() == b"jp2"
    with pytest.raises(ConfigError, match="is not empty"):
        prepare(carry, REPOSITORY, {}, download=fake_download)


def test_run_arguments() -> None:
    args = device_run.build_parser().parse_args(["run", "--out", "results", "--concurrency", "8, 32", "--seconds", "3"])
    assert (args.out, args.concurrency, args.seconds, args.instances) == (Path("results"), (8, 32), 3.0, 2)
    for bad in ("0,4", "", "a"):
        with pytest.raises(ConfigError):
            device_run.parse_concurrencies(bad)
    assert device_run.parse_steps("pipeline, tests") == ("pipeline", "tests")
    with pytest.raises(ConfigError, match="steps must be among tests, jpeg2000, gpu_codec, detectors, pipeline"):
        device_run.parse_steps("pipeline,fuzz")
    calls: list[int] = []

    def work() -> int:
        calls.append(2)
        return 2

    assert device_run.rate(work, 0.05) > 0 and len(calls) >= 2  # the warm-up call too
    assert device_run.percentile([0.3, 0.1, 0.2, 0.4], 0.5) == 0.2
    assert device_run.percentile([float(value) for value in range(1, 101)], 0.99) == 99.0
    assert device_run.summarise_gpu([(50.0, 1000.0), (100.0, 3000.0)]) == {"samples": 2, "util_mean": 75.0, "util_peak": 100.0, "memory_peak_mib": 3000.0}


def test_pythonpath_made_absolute_for_the_stubs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([".device/site", ".", "/opt/x"]))
    device_run.absolute_pythonpath()
    assert os.environ["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / ".device" / "site"), str(tmp_path), "/opt/x"]


def fake_results() -> dict:
    models = {"faces": {"requests": 900, "batch": 7.5, "queue_ms": 1.2, "compute_ms": 3.4}}
    case = {"concurrency": 64, "p50_ms": 20.0, "p99_ms": 41.5, "completed": 900, "errors": 0, "first_error": "",
            "gpu": {"samples": 50, "util_mean": 71.0, "util_peak": 99.0, "memory_peak_mib": 20480.0}, "models": models}
    return {
        "command": "python3 -m perf.device_run run --out /out", "started": "2026-12-01 10:00:00 UTC",
        "environment": {"gpu": "NVIDIA H200", "cpus": 16, "python": "3.12.3", "numpy": "1.26.4", "torch": "2.11.0",
                        "imports": {"cv2": "4.12.0", "cupy": "ImportError: numpy>=2 needed"}},
        "gpu_tests": {"command": "python -m pytest -q -m gpu", "exit_status": 0, "summary": "90 passed"},
        "jpeg2000": {"images": "1080p JPEG 2000, ratio 20", "gpu_batch": 32, "cores": 16, "gpu_images_per_s": 2500.0,
                     "one_core_images_per_s": 8.0, "all_cores_images_per_s": 100.0, "speedup_vs_all_cores": 25.0},
        "pipeline": [{**case, "input": "1080p JPEG", "images_per_s": 2100.0},
                     {**case, "input": "1080p JPEG 2000", "images_per_s": 900.0, "errors": 3, "first_error": "InferenceServerException: boom"}],
        "gpu_codec": [{"batch": 64, "images": 64000, "images_per_s": 4200.0}],
        "detectors": [{"model": "faces", "images": 4, "images_per_s": 310.5}],
        "step_seconds": {"environment": 1.0},
    }


def test_report_from_fake_figures_names_every_figure_and_target(tmp_path: Path) -> None:
    report = render_report(fake_results())
    assert report.startswith("# Device run: NVIDIA H200")
    assert "| 1080p JPEG | 64 | 2100.0 | 20.0 | 41.5 | 0 | 71.0/99.0 | 20480.0 |" in report
    assert "| faces | 900 | 7.5 | 1.2 | 3.4 |" in report
    assert "First error (1080p JPEG 2000, concurrency 64): `InferenceServerException: boom`" in report
    assert "| OpenJPEG (Pillow), 16 cores (a process each) | 100.0 |" in report and "GPU / all cores: 25.0x." in report
    assert "- 1080p JPEG end to end >= 2000 img/s: reached, 2100.0 img/s" in report
    assert "- JPEG 2000 decode >= 20x OpenJPEG on the host's 16 cores: reached, 25.0 x" in report
    assert "`python -m pytest -q -m gpu`: exit status 0, 90 passed" in report
    assert "- imports beside the carried numpy: cv2 4.12.0, cupy ImportError: numpy>=2 needed" in report
    assert "| 64 | 64000 | 4200.0 |" in report and "| faces | 4 | 310.5 |" in report


def test_report_says_what_failed_or_did_not_run() -> None:
    results = {**fake_results(), "pipeline": {"error": "ServerExitedError: tritonserver exited with status 1"}}
    del results["jpeg2000"]
    report = render_report(results)
    assert "Failed: `ServerExitedError: tritonserver exited with status 1`" in report
    assert "## JPEG 2000 decode\n\nNot run." in report
    assert "- 1080p JPEG end to end >= 2000 img/s: not measured" in report


def test_a_failed_step_is_recorded_and_the_files_written(tmp_path: Path) -> None:
    results: dict = {"command": "x"}

    def broken() -> None:
        raise RuntimeError("no CUDA device")

    assert device_run.step(results, "pipeline", tmp_path, broken) is None
    assert results["pipeline"] == {"error": "RuntimeError: no CUDA device"}
    assert json.loads((tmp_path / "results.json").read_text())["pipeline"]["error"] == "RuntimeError: no CUDA device"
    assert "Failed: `RuntimeError: no CUDA device`" in (tmp_path / "report.md").read_text()


@pytest.mark.server
@pytest.mark.skipif(not any(REPOSITORY.glob("faces/*/model.onnx")), reason="no exported models: run `python -m export ensure`")
def test_pipeline_step_rehearsed_on_the_cpu(tmp_path: Path) -> None:
    """The device run's pipeline step end to end (render, tritonserver, load, Triton statistics,
    report) on the repository rendered for the CPU; without nvidia-smi the cases say so."""
    from imaging.codec import ImageEncoder
    from imaging.options import EncodeOptions
    from perf.inputs import encode_jpeg
    from tests.photos import photo_pixels

    pixels = photo_pixels("grace_hopper.jpg")[:240, :320]  # small: torch on 2 loaded cores must answer inside the window
    inputs = tmp_path / "carry" / "inputs"
    inputs.mkdir(parents=True)
    (inputs / "grace_hopper.jpg").write_bytes(encode_jpeg(pixels))
    (inputs / "grace_hopper.jp2").write_bytes(ImageEncoder(device="cpu").encode_native(pixels, EncodeOptions("jp2", compression_ratio=20)).data)
    out = tmp_path / "out"
    status = device_run.main(["--carry", str(tmp_path / "carry"), "run", "--out", str(out), "--steps", "pipeline", "--device", "cpu",
                              "--instances", "1", "--concurrency", "2", "--warmup", "6", "--seconds", "6"])
    assert status == 0
    results = json.loads((out / "results.json").read_text())
    cases = results["pipeline"]
    assert [(case["input"], case["concurrency"]) for case in cases] == [("1080p JPEG", 2), ("1080p JPEG 2000", 2)], cases
    for case in cases:
        assert case["errors"] == 0 and case["completed"] > 0 and case["images_per_s"] > 0
        assert {"decode", "faces", "plates", "blur", "encode"} <= set(case["models"])
        assert case["gpu"]["samples"] == 0 and "nvidia-smi" in case["gpu"]["error"]
    report = (out / "report.md").read_text()
    assert "| 1080p JPEG | 2 |" in report and "| faces |" in report


@pytest.mark.skipif(not any(REPOSITORY.glob("faces/*/model.onnx")), reason="no exported models: run `python -m export ensure`")
def test_detector_step_runs_the_served_detectors_on_torch(tmp_path: Path) -> None:
    from perf.inputs import encode_jpeg
    from tests.photos import photo_pixels

    (tmp_path / "small.jpg").write_bytes(encode_jpeg(photo_pixels("grace_hopper.jpg")[:240, :320]))
    rows = device_run.detector_rates(tmp_path, 0.2, "cpu")
    assert [(row["model"], row["images"]) for row in rows] == [("faces", 1), ("plates", 1)]
    assert all(row["images_per_s"] > 0 for row in rows)
    with pytest.raises(MeasurementError, match="no .jpg input"):
        device_run.detector_rates(tmp_path / "empty", 0.2, "cpu")
