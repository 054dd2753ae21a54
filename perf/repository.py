"""Read the served model configs; copy the repository with dynamic batching off or with overrides.

config.pbtxt goes through Triton's own protobuf (model_config_pb2 + text_format), never string edits.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2

from perf.errors import ConfigError
from triton_launcher.layout import CONFIG_FILE, CONFIGS_DIR


def served_config_name() -> str:
    """The launcher's --model-config-name: configs/<name>.pbtxt, where present, replaces config.pbtxt."""
    from triton_launcher import ServerConfig

    return str(getattr(ServerConfig.from_env(), "model_config_name", "") or "")


def config_path(model_dir: Path) -> Path:
    """The file Triton serves the model from."""
    name = served_config_name()
    custom = model_dir / CONFIGS_DIR / f"{name}.pbtxt"
    return custom if name and custom.exists() else model_dir / CONFIG_FILE


def config_files(model_dir: Path) -> list[Path]:
    """config.pbtxt and every configs/*.pbtxt: a copy edits them all, whichever gets served."""
    return [model_dir / CONFIG_FILE, *sorted((model_dir / CONFIGS_DIR).glob("*.pbtxt"))]


def parse_config(path: Path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def read_config(model_dir: Path) -> model_config_pb2.ModelConfig:
    """The model's served config."""
    return parse_config(config_path(model_dir))


def served_config(model_dir: Path) -> dict[str, Any]:
    """The served config as the Python models receive it (``args["model_config"]``, proto field names)."""
    return json_format.MessageToDict(read_config(model_dir), preserving_proto_field_name=True)


def write_config(path: Path, config: model_config_pb2.ModelConfig) -> None:
    path.write_text(text_format.MessageToString(config))


def parameter(config: model_config_pb2.ModelConfig, key: str, default: str) -> str:
    """A ``parameters { key: ... value: { string_value: ... } }`` entry, as the models read it."""
    return config.parameters[key].string_value if key in config.parameters else default


def served_version_dir(model_dir: Path) -> Path:
    """The version folder Triton serves: the pinned one (version_policy specific), else the newest."""
    config = read_config(model_dir)
    if config.version_policy.HasField("specific") and config.version_policy.specific.versions:
        return model_dir / str(max(config.version_policy.specific.versions))
    return latest_version_dir(model_dir)


def latest_version_dir(model_dir: Path) -> Path:
    """The highest numbered version folder."""
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
    for path in [path for model_dir in sorted(destination.iterdir()) if model_dir.is_dir() for path in config_files(model_dir)]:
        if not path.exists():
            continue
        config = parse_config(path)
        if config.HasField("dynamic_batching"):
            config.ClearField("dynamic_batching")
            write_config(path, config)
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
    value: object
    if field.type == field.TYPE_BOOL:
        value = override.value.lower() in ("1", "true")
    elif field.type == field.TYPE_STRING:
        value = override.value
    else:
        value = int(override.value)
    setattr(config, override.key, value)


def copy_with_overrides(repository: Path, destination: Path, overrides: Sequence[Override]) -> Path:
    """A copy of ``repository`` with each override written into its model's config.pbtxt."""
    shutil.copytree(repository, destination, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for override in overrides:
        model_dir = destination / override.model
        if not (model_dir / CONFIG_FILE).exists():
            raise ConfigError(f"{override}: no model {override.model!r} in {repository}")
        for path in (path for path in config_files(model_dir) if path.exists()):
            config = parse_config(path)
            apply_override(config, override)
            write_config(path, config)
    return destination
