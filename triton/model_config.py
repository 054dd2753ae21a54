"""config.pbtxt through Triton's own protobuf: parse, print, and the configs model control derives.

Every derived config starts from the model's own config.pbtxt, so that file stays the single
source of truth for everything but the version policy (and, for pinned copies, the name).
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc.model_config_pb2 import ModelConfig

from triton_launcher.errors import RepositoryStateError

ENSEMBLE_PLATFORM = "ensemble"
LATEST_LOADED = -1
"""`model_version: -1` in an ensemble step: whichever version of the composing model is loaded."""


def parse_config(text: str, source: str) -> ModelConfig:
    """A ModelConfig from pbtxt text; `source` names it in the error."""
    try:
        return text_format.Parse(text, ModelConfig())
    except text_format.ParseError as error:
        raise RepositoryStateError(f"{source} is not a valid model config: {error}") from error


def read_config(path: Path) -> ModelConfig:
    try:
        text = path.read_text()
    except OSError as error:
        raise RepositoryStateError(f"cannot read {path}: {error}") from error
    return parse_config(text, str(path))


def config_text(config: ModelConfig, header: str) -> str:
    """pbtxt for `config`, preceded by `header` as comment lines."""
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return comments + text_format.MessageToString(config)


def specific_versions(config: ModelConfig) -> list[int] | None:
    """The versions of a `specific` policy, or None for `latest` / `all`."""
    if config.version_policy.WhichOneof("policy_choice") != "specific":
        return None
    return sorted(config.version_policy.specific.versions)


def with_specific_versions(config: ModelConfig, versions: list[int]) -> ModelConfig:
    """A copy of `config` serving exactly `versions`."""
    derived = ModelConfig()
    derived.CopyFrom(config)
    derived.version_policy.specific.versions[:] = sorted(versions)
    return derived


def is_ensemble(config: ModelConfig) -> bool:
    return config.platform == ENSEMBLE_PLATFORM


def step_models(config: ModelConfig) -> list[str]:
    """Names of the models an ensemble calls, in step order (empty for other models)."""
    return [step.model_name for step in config.ensemble_scheduling.step]


def pinned_model_config(config: ModelConfig, name: str, version: int) -> ModelConfig:
    """`config` renamed to `name`, serving only `version`."""
    derived = with_specific_versions(config, [version])
    derived.name = name
    return derived


def pinned_ensemble_config(config: ModelConfig, name: str, model: str, pinned_model: str) -> ModelConfig:
    """The ensemble `config` renamed to `name`, calling `pinned_model` wherever it called `model`."""
    derived = ModelConfig()
    derived.CopyFrom(config)
    derived.name = name
    for step in derived.ensemble_scheduling.step:
        if step.model_name == model:
            step.model_name = pinned_model
            step.model_version = LATEST_LOADED
    return derived
