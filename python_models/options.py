"""Request parameters (Triton's `parameters` map, JSON) parsed into typed options.

One parser per option set: blur options here (:func:`parse_blur_options`), encode options in
:func:`imaging.options.output_options`; decode checks both early (:func:`check_request_options`)
through the same parsers the blur and encode steps call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from contracts import parameters as names
from imaging.blur import BLUR_KINDS
from imaging.errors import InvalidOptionError
from imaging.options import output_options

# Blurs that anonymise a face or a plate at strength 1 and above. The bilateral filter is
# edge-preserving by design: at the default strength eyes, mouth and hair stay readable, so it is
# offered for whole-image blurs only (a `process` blur step with region "image").
ANONYMISING_KINDS = tuple(kind for kind in BLUR_KINDS if kind != "bilateral")
# `verify`: what the detectors still find on the anonymised image is blurred again with this,
# whatever blur the request asked for (it has just been shown not to be enough there).
RESIDUAL_KIND, RESIDUAL_MIN_STRENGTH = "gaussian", 2.0
# A blur weaker than the default (strength 1: the weakest shown to anonymise every kind) is
# verified whether or not the request asked: what it leaves recognisable is blurred again.
VERIFIED_BELOW_STRENGTH = 1.0


def check_anonymising_kind(kind: str, name: str = "blur_kind") -> str:
    """``kind`` if it anonymises; `invalid_option` naming ``name`` and the kinds that do otherwise."""
    if kind == "bilateral":
        raise InvalidOptionError(
            f"{name} bilateral is edge-preserving and leaves faces recognisable; "
            f"faces and plates take one of {', '.join(ANONYMISING_KINDS)}"
        )
    if kind not in ANONYMISING_KINDS:
        raise InvalidOptionError(f"{name} must be one of {', '.join(ANONYMISING_KINDS)}, got {kind!r}")
    return kind


def residual_blur(options: BlurOptions) -> tuple[str, float]:
    """(kind, strength) for what `verify` still finds: a Gaussian at least twice the default's sigma."""
    return RESIDUAL_KIND, max(RESIDUAL_MIN_STRENGTH, options.strength)


def parse_parameters(raw: str | None) -> dict[str, object]:
    """The request's parameters as a dict (Triton hands them over as a JSON string)."""
    if not raw:
        return {}
    parsed = json.loads(raw)
    return parsed if isinstance(parsed, dict) else {}


@dataclass(frozen=True)
class BlurOptions:
    """What to blur and how: faces and the ``always`` classes (config `always_blur`), plus detections
    whose class name is listed in ``classes``; uncertain rows too unless ``blur_uncertain`` is off;
    ``verify``: detect again on the anonymised image and blur what is still found."""

    kind: str = "gaussian"
    strength: float = 1.0
    classes: frozenset[str] = frozenset()
    margin: float = 0.3
    always: frozenset[str] = frozenset()
    blur_uncertain: bool = True
    verify: bool = False

    @property
    def blurred_classes(self) -> frozenset[str]:
        return self.classes | self.always


def parse_blur_options(parameters: Mapping[str, object], defaults: BlurOptions) -> BlurOptions:
    """Override the model's configured defaults with `blur_kind`, `blur_strength`, `blur_classes`,
    `blur_uncertain` and `verify` (booleans: true/false, 1/0). A strength below
    VERIFIED_BELOW_STRENGTH turns `verify` on: a weak blur is checked, never trusted."""
    kind = check_anonymising_kind(str(parameters.get(names.BLUR_KIND, defaults.kind)))
    strength = _positive_float(names.BLUR_STRENGTH, parameters.get(names.BLUR_STRENGTH, defaults.strength))
    classes = parameters.get(names.BLUR_CLASSES)
    chosen = defaults.classes if classes is None else parse_class_list(str(classes))
    return replace(
        defaults,
        kind=kind,
        strength=strength,
        classes=chosen,
        blur_uncertain=parse_boolean(names.BLUR_UNCERTAIN, parameters.get(names.BLUR_UNCERTAIN, defaults.blur_uncertain)),
        verify=parse_boolean(names.VERIFY, parameters.get(names.VERIFY, defaults.verify)) or strength < VERIFIED_BELOW_STRENGTH,
    )


def fail_closed_options(parameters: Mapping[str, object], configured: BlurOptions) -> BlurOptions:
    """``configured`` with the request's `verify` and `blur_uncertain` (for `process`, whose steps
    set the rest); `invalid_option` as parse_blur_options."""
    asked = parse_blur_options(parameters, configured)
    return replace(configured, verify=asked.verify, blur_uncertain=asked.blur_uncertain)


def check_request_options(parameters: Mapping[str, object], source_formats: Iterable[str]) -> None:
    """InvalidOptionError for a blur or encode option that `blur` or `encode` would refuse for
    images read as ``source_formats``: decode calls it so a bad option fails before detection."""
    parse_blur_options(parameters, BlurOptions())
    for source_format in source_formats:
        output_options(parameters, source_format)


def parse_boolean(name: str, value: object) -> bool:
    """A boolean request parameter: true/false, 1/0, yes/no; `invalid_option` naming ``name`` otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise InvalidOptionError(f"{name} must be true or false, got {value!r}")


def parse_class_list(raw: str) -> frozenset[str]:
    """'person, licence plate' -> {'person', 'licence plate'}."""
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _positive_float(name: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidOptionError(f"{name} must be a number, got {value!r}") from None
    if not number > 0:
        raise InvalidOptionError(f"{name} must be positive, got {value!r}")
    return number
