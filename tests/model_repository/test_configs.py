"""Every config.pbtxt parses with Triton's own protobuf, and the ensemble wiring matches each step."""

from __future__ import annotations

import pytest
from tritonclient.grpc import model_config_pb2

from tests.model_repository.configs import REPOSITORY, committed_config, load_config

COMPOSING = ["decode", "detect", "plates", "faces", "blur", "encode"]
STANDALONE = ["transcode", "process"]  # Python models called directly, not through an ensemble


def test_every_model_folder_has_a_parsable_config() -> None:
    names = sorted(path.parent.name for path in REPOSITORY.glob("*/config.pbtxt"))
    assert names == sorted([*COMPOSING, *STANDALONE, "pipeline"])
    for name in names:
        assert load_config(name).name == name


@pytest.mark.parametrize("name", [*COMPOSING, *STANDALONE])
def test_composing_models_batch_with_priorities_and_a_queue_policy(name: str) -> None:
    config = load_config(name)
    assert config.backend == "python" and config.max_batch_size > 0
    batching = config.dynamic_batching
    assert (batching.priority_levels, batching.default_priority_level) == (3, 2)
    assert batching.max_queue_delay_microseconds > 0
    assert batching.default_queue_policy.max_queue_size > 0
    assert config.instance_group and all(group.count >= 1 for group in config.instance_group)


def test_pipeline_contract() -> None:
    config = load_config("pipeline")
    assert config.platform == "ensemble" and config.max_batch_size > 0
    tensors = {tensor.name: (tensor.data_type, list(tensor.dims)) for tensor in [*config.input, *config.output]}
    string = model_config_pb2.TYPE_STRING
    assert tensors == {"IMAGE": (string, [1]), "RESULT": (string, [1]), "METADATA": (string, [1])}
    assert [step.model_name for step in config.ensemble_scheduling.step] == COMPOSING


def test_ensemble_maps_match_each_step() -> None:
    """Each step reads tensors an earlier step produced, with the same data type."""
    config = load_config("pipeline")
    available = {tensor.name: tensor.data_type for tensor in config.input}
    for step in config.ensemble_scheduling.step:
        model = load_config(step.model_name)
        inputs = {tensor.name: tensor.data_type for tensor in model.input}
        outputs = {tensor.name: tensor.data_type for tensor in model.output}
        assert set(step.input_map) == set(inputs), step.model_name
        assert set(step.output_map) <= set(outputs), step.model_name
        for own_name, ensemble_name in step.input_map.items():
            assert available.get(ensemble_name) == inputs[own_name], f"{step.model_name}.{own_name}"
        available |= {ensemble_name: outputs[own_name] for own_name, ensemble_name in step.output_map.items()}
    for tensor in config.output:
        assert available.get(tensor.name) == tensor.data_type, tensor.name


def test_transcode_contract() -> None:
    config = load_config("transcode")
    tensors = {tensor.name: (tensor.data_type, list(tensor.dims)) for tensor in [*config.input, *config.output]}
    string = model_config_pb2.TYPE_STRING
    assert tensors == {"IMAGE": (string, [1]), "RESULT": (string, [1]), "METADATA": (string, [1])}


def test_process_contract_has_one_result_item_per_output_image() -> None:
    config = load_config("process")
    tensors = {tensor.name: (tensor.data_type, list(tensor.dims)) for tensor in [*config.input, *config.output]}
    string = model_config_pb2.TYPE_STRING
    assert tensors == {"IMAGE": (string, [1]), "RESULT": (string, [-1]), "METADATA": (string, [1])}
    parameters = {key: value.string_value for key, value in config.parameters.items()}
    for model_name in (parameters["detect_model"], parameters["plates_model"], parameters["faces_model"]):  # its BLS targets exist
        assert load_config(model_name).name == model_name


@pytest.mark.parametrize("name", ["detect", "plates", "faces"])
def test_code_fallbacks_equal_the_committed_session_settings(name: str) -> None:
    from python_models.detectors import SessionSettings
    from python_models.model_config import configured_session

    assert configured_session(committed_config(name)) == configured_session({}) == SessionSettings()


def test_process_blurs_with_the_same_defaults_as_the_pipeline() -> None:
    from python_models.model_config import configured_blur

    assert configured_blur(committed_config("process")) == configured_blur(committed_config("blur")) == configured_blur({})
