"""Read model configs, and make a copy of the model repository with dynamic batching switched off.

config.pbtxt goes through Triton's own protobuf (model_config_pb2 + text_format), never string edits.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from perf.errors import ConfigError

CONFIG = "config.pbtxt"


def read_config(model_dir: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse((model_dir / CONFIG).read_text(), model_config_pb2.ModelConfig())


def write_config(model_dir: Path, config: model_config_pb2.ModelConfig) -> None:
    (model_dir / CONFIG).write_text(text_format.MessageToString(config))


def parameter(config: model_config_pb2.ModelConfig, key: str, default: str) -> str:
    """A ``parameters { key: ... value: { string_value: ... } }`` entry, as the models read it."""
    return config.parameters[key].string_value if key in config.parameters else default


def latest_version_dir(model_dir: Path) -> Path:
    """The highest numbered version folder (the models' version policy serves the latest one)."""
    versions = [path for path in model_dir.iterdir() if path.is_dir() and path.name.isdigit()]
    if not versions:
        raise FileNotFoundError(f"{model_dir} has no version folder: run `python -m export ensure`")
    return max(versions, key=lambda path: int(path.name))


def copy_without_batching(repository: Path, destination: Path) -> Path:
    """A copy of ``repository`` where no model batches: dynamic_batching removed, max_batch_size kept.

    Keeping max_batch_size keeps every tensor shape (and so the ensemble wiring) unchanged;
    without a dynamic batcher Triton's default scheduler runs each request on its own.
    Links (the version folders' model.py -> ../model.py) are copied as links.
    """
    shutil.copytree(repository, destination, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for config_path in sorted(destination.glob(f"*/{CONFIG}")):
        config = read_config(config_path.parent)
        if config.platform == "ensemble" or not config.HasField("dynamic_batching"):
            continue
        config.ClearField("dynamic_batching")
        write_config(config_path.parent, config)
    return destination


@dataclass(frozen=True)
class Override:
    """``model.key=value``: a field of the model's config (max_batch_size) or one of its parameters."""

    model: str
    key: str
    value: str

    def __str__(self) -> str:
        return f"{self.model}.{self.key}={self.value}"

    @classmethod
    def parse(cls, raw: str) -> Override:
        target, _, value = raw.partition("=")
        model, _, key = target.strip().partition(".")
        if not (model and key and value.strip()):
            raise ConfigError(f"an override reads model.key=value, got {raw!r}")
        return cls(model, key.strip(), value.strip())


def apply_override(config: model_config_pb2.ModelConfig, override: Override) -> None:
    field = config.DESCRIPTOR.fields_by_name.get(override.key)
    if field is None:
        config.parameters[override.key].string_value = override.value
        return
    repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
    if repeated or field.type == field.TYPE_MESSAGE:
        raise ConfigError(f"{override}: only scalar config fields and parameters can be overridden")
    kind = {field.TYPE_BOOL: lambda raw: raw.lower() in ("1", "true"), field.TYPE_STRING: str}.get(field.type, int)
    setattr(config, override.key, kind(override.value))


def copy_with_overrides(repository: Path, destination: Path, overrides: Sequence[Override]) -> Path:
    """A copy of ``repository`` with each override written into its model's config.pbtxt."""
    shutil.copytree(repository, destination, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for override in overrides:
        model_dir = destination / override.model
        if not (model_dir / CONFIG).exists():
            raise ConfigError(f"{override}: no model {override.model!r} in {repository}")
        config = read_config(model_dir)
        apply_override(config, override)
        write_config(model_dir, config)
    return destination
