"""Compose files as `docker compose` reads them: YAML with the `!reset` / `!override` merge tags,
variable interpolation (`${VAR:-default}`, `${VAR:?error}`, ...) and the merge of several files.

No Docker engine runs here, so this follows the Compose specification's text (interpolation.md,
merge.md) for the parts the project's files use, and refuses anything else loudly.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Throwaway values for the variables compose.yaml requires (never real secrets).
TEST_ENVIRON = {
    "MINIO_ROOT_USER": "anonymiser",
    "MINIO_ROOT_PASSWORD": "not-a-real-password",
    "GATEWAY_API_KEYS": "key-one,key-two",
    "GATEWAY_WEBHOOK_SECRET": "not-a-real-secret",
}


class Reset:
    """`!reset`: the attribute is removed from the merged model."""


class Override:
    """`!override value`: the value replaces what earlier files said instead of merging into it."""

    def __init__(self, value: Any) -> None:
        self.value = value


class ComposeLoader(yaml.SafeLoader):
    """Safe YAML plus the two Compose merge tags."""


ComposeLoader.add_constructor("!reset", lambda loader, node: Reset())
ComposeLoader.add_constructor(
    "!override",
    lambda loader, node: Override(
        loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.MappingNode)
        else loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_scalar(node)
    ),
)


def load(name: str) -> dict[str, Any]:
    """One Compose file of the repository root, tags kept."""
    return yaml.load((ROOT / name).read_text(), Loader=ComposeLoader)


# Shell commands are replaced, not appended (merge.md, "Exceptions").
REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}


def merge(base: Any, override: Any, path: tuple[str, ...] = ()) -> Any:
    """The Compose model of ``base`` with ``override`` merged on top (mappings merged key by key,
    sequences appended, `!reset` removes, `!override` and scalars replace)."""
    if isinstance(override, Override):
        return copy.deepcopy(override.value)
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            if isinstance(value, Reset):
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge(merged[key], value, (*path[-1:], key))
            else:
                merged[key] = strip_tags(value)
        return merged
    if (
        isinstance(base, list)
        and isinstance(override, list)
        and path[-2:] not in REPLACED
        and path[-1:] not in REPLACED
    ):
        if path[-1:] in {("ports",), ("volumes",), ("secrets",), ("configs",)}:
            raise NotImplementedError(
                f"merging {path[-1]} needs Compose's unique-key rules; not used by the project's files"
            )
        return [*base, *override]
    return strip_tags(override)


def strip_tags(value: Any) -> Any:
    """A value with its merge tags resolved as when it is the only definition."""
    if isinstance(value, Override):
        return copy.deepcopy(value.value)
    if isinstance(value, Mapping):
        return {key: strip_tags(item) for key, item in value.items() if not isinstance(item, Reset)}
    if isinstance(value, list):
        return [strip_tags(item) for item in value]
    return value


class InterpolationError(ValueError):
    """A required variable is unset (`${VAR:?message}`), or an expression this reader does not know."""


_EXPRESSION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^{}$]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: Any, environ: Mapping[str, str]) -> Any:
    """``value`` with every variable substituted from ``environ``, as `docker compose` does."""
    if isinstance(value, Mapping):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value
    if "$" in _EXPRESSION.sub("", value):
        raise InterpolationError(f"unsupported interpolation in {value!r}")
    return _EXPRESSION.sub(lambda match: _substitute(match, environ), value)


def _substitute(match: re.Match[str], environ: Mapping[str, str]) -> str:
    if match["escaped"]:
        return "$"
    name = match["name"] or match["bare"]
    op, arg = match["op"], match["arg"] or ""
    present = name in environ
    nonempty = bool(environ.get(name))
    if op is None:
        return environ.get(name, "")
    if op in {":-", "-"}:
        return environ[name] if (nonempty if op == ":-" else present) else arg
    if op in {":?", "?"}:
        if nonempty if op == ":?" else present:
            return environ[name]
        raise InterpolationError(f"required variable {name} is missing a value: {arg}")
    if op in {":+", "+"}:
        return arg if (nonempty if op == ":+" else present) else ""
    raise InterpolationError(f"unknown interpolation operator {op!r}")
