"""The launcher brings back a model whose Python stub was killed (kill -9), with no gateway and no
operator: the watcher sees the zombie stub and reloads the model through the repository API."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from contracts.tensors import IMAGE
from tests.photos import photo_bytes
from triton_launcher import ServerConfig, TritonServer
from triton_launcher.stubs import is_dead, stub_processes

pytestmark = pytest.mark.server

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
RECOVERY_S = 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """A Triton of this module only: its stubs get killed."""
    config = ServerConfig.from_env(model_repository=REPOSITORY, exit_timeout_s=3)
    with TritonServer(config, log_path=tmp_path_factory.mktemp("triton") / "tritonserver.log") as started:
        yield started


def infer(client: grpcclient.InferenceServerClient) -> str:
    """``ok`` or Triton's error message."""
    image = grpcclient.InferInput(IMAGE, [1, 1], "BYTES")
    image.set_data_from_numpy(np.array([[photo_bytes("zidane.jpg")]], dtype=np.object_))
    try:
        client.infer("pipeline", [image], client_timeout=60)
    except InferenceServerException as error:
        return str(error.message())
    return "ok"


def test_killed_decode_stub_is_reloaded_by_the_launcher(server: TritonServer) -> None:
    assert server.pid is not None and server.supervisor is not None
    client = grpcclient.InferenceServerClient(server.grpc_url)
    assert infer(client) == "ok"
    [stub] = [stub for stub in stub_processes(server.pid) if stub.model == "decode"]
    os.kill(stub.pid, signal.SIGKILL)
    started, outcomes = time.monotonic(), []
    while time.monotonic() - started < RECOVERY_S and outcomes[-1:] != ["ok"]:
        outcomes.append(infer(client))
        time.sleep(0.2)
    assert outcomes[-1] == "ok", outcomes
    failures = outcomes[:-1]
    assert all("Stub process 'decode_0_0' is not healthy" in failure for failure in failures), failures
    assert server.supervisor.reloaded == ["decode"]
    [fresh] = [other for other in stub_processes(server.pid) if other.model == "decode"]
    assert fresh.pid != stub.pid and is_dead(stub.pid)
    client.close()
