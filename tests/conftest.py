"""Shared fixtures: the real tritonserver on the real model repository, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent / "model_repository"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked gpu skip cleanly where CUDA is absent."""
    if _has_cuda():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU with CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def _has_cuda() -> bool:
    """CuPy or torch sees a CUDA device (the device run's numpy<2 may leave only torch importable)."""
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return True
    except Exception:  # noqa: BLE001 - no cupy, no driver, no device: all mean "no GPU"
        pass
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # noqa: BLE001 - no torch (it comes with the export extra): no GPU either
        return False


@pytest.fixture(scope="session")
def triton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """tritonserver from the nvidia-pytriton wheel serving model_repository/ on free ports."""
    from triton_launcher import ServerConfig, TritonServer

    if not any(REPOSITORY.glob("detect/*/model.onnx")):
        pytest.fail("model_repository has no exported detector: run `python -m export ensure` first")
    log_path = tmp_path_factory.mktemp("triton") / "tritonserver.log"
    with TritonServer(ServerConfig.from_env(model_repository=REPOSITORY), log_path=log_path) as server:
        yield server
