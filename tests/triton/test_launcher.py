from __future__ import annotations

from pathlib import Path

import pytest

from triton_launcher import ServerConfig, ServerNotFoundError, TritonServer
from triton_launcher.config import ControlSettings
from triton_launcher.distribution import assemble_backends, find_distribution


def test_config_precedence_defaults_environment_arguments() -> None:
    environ = {"TRITON_GRPC_PORT": "9001", "TRITON_LOAD_MODELS": "decode, pipeline", "TRITON_MODEL_CONTROL": "none"}
    config = ServerConfig.from_env(environ, grpc_port=9002)
    assert config.grpc_port == 9002
    assert config.load_models == ("decode", "pipeline") and config.model_control == "none"
    assert config.http_port == 0 and config.model_repository.name == "model_repository"


def test_extra_args_are_shell_words_so_backend_config_keeps_its_commas() -> None:
    raw = "--backend-config=python,shm-default-byte-size=67108864 --log-info=true"
    config = ServerConfig.from_env({"TRITON_EXTRA_ARGS": raw})
    assert config.extra_args == ("--backend-config=python,shm-default-byte-size=67108864", "--log-info=true")


def test_wheel_distribution_and_backend_directory(tmp_path: Path) -> None:
    distribution = find_distribution()
    assert distribution.binary.is_file()
    backends = assemble_backends(distribution, tmp_path)
    assert (backends / "python" / "libtriton_python.so").is_file()
    assert (backends / "python" / "triton_python_backend_stub").is_file()
    with pytest.raises(ServerNotFoundError, match="Python 2.7"):
        distribution.stub_for((2, 7))


@pytest.mark.server
def test_server_starts_ready_and_stops(tmp_path: Path) -> None:
    (tmp_path / "repository").mkdir()
    server = TritonServer(ServerConfig(model_repository=tmp_path / "repository", model_control="none"))
    with server:
        assert server.is_ready() and server.is_running()
    assert not server.is_running()


def test_control_settings_precedence_defaults_environment_arguments(tmp_path: Path) -> None:
    environ = {"TRITON_GRPC_URL": "triton:8001", "TRITON_MODEL_REPOSITORY": str(tmp_path), "TRITON_LOAD_TIMEOUT_S": "30"}
    settings = ControlSettings.from_env(environ, default_model="faces")
    assert (settings.grpc_url, settings.model_repository, settings.load_timeout_s) == ("triton:8001", tmp_path, 30.0)
    assert (settings.default_model, settings.ensemble, settings.model_config_name) == ("faces", "pipeline", "serving")
    assert ControlSettings.from_env({}).grpc_url == "127.0.0.1:8001"
    assert ServerConfig.from_env({"TRITON_MODEL_CONFIG_NAME": "h100"}).model_config_name == "h100"
