"""The `operations` request parameter: a JSON list of steps, validated before any pixel is touched.

```json
[{"op": "resize", "width": 1600, "fit": "within"},
 {"op": "rotate", "angle": 90},
 {"op": "anonymize", "blur_kind": "pixelate"},
 {"op": "tile", "rows": 2, "cols": 2, "overlap": 32},
 {"op": "format", "format": "webp", "quality": 80}]
```

Steps apply in order, each to the output of the previous one; after a `tile` step every later
step applies to each tile. `format` (at most one, and last) says how every output is encoded.
A bad chain raises InvalidOptionError naming the step: "operations step 2 (rotate): ...".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imaging.blur import BLUR_KINDS
from imaging.errors import InvalidOptionError
from imaging.operations import FITS, INTERPOLATIONS
from imaging.options import EncodeOptions, output_options, parse_encode_options
from python_models.options import ANONYMISING_KINDS

MAX_STEPS = 32
REGIONS = ("image", "detected")


@dataclass(frozen=True)
class PixelBudget:
    """Caps on the pixels a chain may make, checked from the planned sizes before any work
    (:func:`python_models.chain.check_budget`): ``step_pixels`` for any one image a step makes,
    ``total_pixels`` for all steps' outputs together. config.pbtxt's `max_step_pixels` and
    `max_total_pixels`; these defaults are the committed config's values."""

    step_pixels: int = 100_000_000
    total_pixels: int = 400_000_000

    @classmethod
    def from_parameters(cls, parameter: Callable[[str, str], str]) -> PixelBudget:
        """From a config lookup ``parameter(key, default)`` (e.g. ``partial(config_parameter, config)``)."""
        budget = cls(
            step_pixels=int(parameter("max_step_pixels", str(cls.step_pixels))),
            total_pixels=int(parameter("max_total_pixels", str(cls.total_pixels))),
        )
        if budget.step_pixels <= 0 or budget.total_pixels <= 0:
            raise InvalidOptionError(f"max_step_pixels and max_total_pixels must be positive, got {budget}")
        return budget


@dataclass(frozen=True)
class Step:
    """One validated step: its position (1-based), its name and its checked arguments."""

    index: int
    op: str
    args: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return {"op": self.op, **self.args}


IMPLICIT_ANONYMIZE = Step(0, "anonymize", {})
"""Step 0: the `anonymize` put first in a chain that has no detecting step of its own."""


def detects(step: Step) -> bool:
    """An `anonymize` step, or a `blur` of the detected regions: faces and plates get blurred."""
    return step.op == "anonymize" or (step.op == "blur" and step.args.get("region") == "detected")


def anonymizing(steps: list[Step]) -> list[Step]:
    """``steps`` when one of them detects, else :data:`IMPLICIT_ANONYMIZE` followed by them.

    Fail closed: whatever `process` answers is anonymised, so a chain of only geometry, whole-image
    blurs and a format (a resize, a crop, a tile grid) still has its faces and plates blurred, at
    full resolution before any step shrinks or cuts them.
    """
    return steps if any(detects(step) for step in steps) else [IMPLICIT_ANONYMIZE, *steps]


Check = Callable[[Any], Any]  # returns the value (normalised) or raises ValueError naming the rule


def _int(low: int, high: int = 1 << 30) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"must be an integer {low}-{high}")
        return value

    return check


def _number(low: float, high: float, *, open_low: bool = False) -> Check:
    def check(value: Any) -> float:
        valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not valid or value > high or value < low or (open_low and value == low):
            raise ValueError(f"must be a number {'>' if open_low else '>='} {low} and <= {high}")
        return float(value)

    return check


def _choice(*allowed: str) -> Check:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {list(allowed)}")
        return value

    return check


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [name.strip() for name in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError("must be a list of class names")
    return [name for name in value if name]


def _colour(value: Any) -> list[int]:
    def channel(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255

    if not isinstance(value, list) or len(value) != 3 or not all(channel(v) for v in value):
        raise ValueError("must be [r, g, b] with values 0-255")
    return value


# op -> (required fields, {field: check})
SCHEMAS: dict[str, tuple[frozenset[str], dict[str, Check]]] = {
    "resize": (
        frozenset(),
        {
            "width": _int(1, 65_535),
            "height": _int(1, 65_535),
            "scale": _number(0, 64, open_low=True),
            "fit": _choice(*FITS),
            "interpolation": _choice("auto", *INTERPOLATIONS),
        },
    ),
    "crop": (frozenset({"x", "y", "width", "height"}), {"x": _int(0), "y": _int(0), "width": _int(1), "height": _int(1)}),
    "rotate": (frozenset({"angle"}), {"angle": _number(-360, 360), "fill": _colour}),
    "tile": (frozenset({"rows", "cols"}), {"rows": _int(1, 64), "cols": _int(1, 64), "overlap": _int(0, 4096)}),
    "blur": (
        frozenset(),
        {
            "kind": _choice(*BLUR_KINDS),
            "region": _choice(*REGIONS),
            "size": _number(0, 1000, open_low=True),
            "strength": _number(0, 100, open_low=True),
            "classes": _names,
        },
    ),
    "anonymize": (
        frozenset(),
        {"blur_kind": _choice(*ANONYMISING_KINDS), "blur_strength": _number(0, 100, open_low=True), "blur_classes": _names},
    ),
    "format": (frozenset({"format"}), {}),  # checked by imaging.options
}


def parse_operations(raw: object, max_outputs: int) -> list[Step]:
    """The validated steps of an `operations` parameter (a JSON string or an already-parsed list)."""
    steps = _as_list(raw)
    parsed = [_parse_step(index, item) for index, item in enumerate(steps, start=1)]
    _check_order(parsed, max_outputs)
    return parsed


def _as_list(raw: object) -> list[Any]:
    if isinstance(raw, (bytes, str)):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InvalidOptionError(f"operations must be a JSON list of steps: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise InvalidOptionError('operations must be a non-empty JSON list of steps, e.g. [{"op": "resize", "scale": 0.5}]')
    if len(raw) > MAX_STEPS:
        raise InvalidOptionError(f"operations has {len(raw)} steps; at most {MAX_STEPS} are allowed")
    return raw


def _parse_step(index: int, item: Any) -> Step:
    if not isinstance(item, dict) or item.get("op") not in SCHEMAS:
        op = item.get("op") if isinstance(item, dict) else item
        raise InvalidOptionError(f"operations step {index}: unknown operation {op!r}; known: {sorted(SCHEMAS)}")
    op = item["op"]
    fields = {key: value for key, value in item.items() if key != "op"}

    def fail(problem: str) -> InvalidOptionError:
        return InvalidOptionError(f"operations step {index} ({op}): {problem}")

    if op == "format":
        return Step(index, op, _format_args(fields, fail))
    required, checks = SCHEMAS[op]
    unknown = sorted(set(fields) - set(checks))
    if unknown:
        raise fail(f"unknown field {unknown[0]!r}; allowed: {sorted(checks)}")
    missing = sorted(required - set(fields))
    if missing:
        raise fail(f"missing field {missing[0]!r}")
    args = {}
    for key, value in fields.items():
        try:
            args[key] = checks[key](value)
        except ValueError as exc:
            raise fail(f"{key} {exc}, got {value!r}") from None
    _check_combination(op, args, fail)
    return Step(index, op, args)


def _format_args(fields: Mapping[str, Any], fail: Callable[[str], InvalidOptionError]) -> dict[str, Any]:
    try:
        parse_encode_options(fields, "jpeg")  # format is required: the default never applies
    except InvalidOptionError as exc:
        raise fail(str(exc)) from None
    unknown = sorted(set(fields) - set(EncodeOptions.__dataclass_fields__))
    if unknown:
        raise fail(f"unknown field {unknown[0]!r}; allowed: {sorted(EncodeOptions.__dataclass_fields__)}")
    return dict(fields)


def _check_combination(op: str, args: dict[str, Any], fail: Callable[[str], InvalidOptionError]) -> None:
    if op == "resize":
        sized = "width" in args or "height" in args
        if sized == ("scale" in args):
            raise fail("give either scale, or width and/or height")
        if args.get("fit") == "within" and not ("width" in args and "height" in args):
            raise fail('fit "within" needs both width and height')
    if op == "blur":
        detected = args.get("region") == "detected"
        if detected and "size" in args:
            raise fail('size is for region "image"; detected regions take strength')
        if detected and args.get("kind") == "bilateral":
            raise fail(f"kind bilateral leaves faces recognisable; detected regions take one of {', '.join(ANONYMISING_KINDS)}")
        if not detected and ("strength" in args or "classes" in args):
            raise fail('strength and classes are for region "detected"; the whole image takes size')


def _check_order(steps: list[Step], max_outputs: int) -> None:
    formats = [step for step in steps if step.op == "format"]
    if formats and (len(formats) > 1 or formats[0] is not steps[-1]):
        raise InvalidOptionError(f"operations step {formats[0].index} (format): format must be the last step, and only one")
    outputs = math.prod(step.args["rows"] * step.args["cols"] for step in steps if step.op == "tile")
    if outputs > max_outputs:
        raise InvalidOptionError(f"operations would make {outputs} output images; at most {max_outputs} are allowed")


def encode_options(steps: list[Step], parameters: Mapping[str, object], source_format: str) -> EncodeOptions:
    """The `format` step's options, else the request's own format/quality/... parameters
    (:func:`imaging.options.output_options` for an input read as ``source_format``)."""
    return output_options(steps[-1].args if steps and steps[-1].op == "format" else parameters, source_format)
