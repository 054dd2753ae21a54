"""The `operations` parameter: validated up front, errors naming the bad step."""

from __future__ import annotations

import json

import pytest

from imaging.errors import InvalidOptionError
from python_models.operation_specs import encode_options, parse_operations

CHAIN = [
    {"op": "resize", "width": 1600, "height": 1200, "fit": "within", "interpolation": "lanczos"},
    {"op": "crop", "x": 0, "y": 0, "width": 800, "height": 600},
    {"op": "rotate", "angle": 90, "fill": [0, 0, 0]},
    {"op": "blur", "kind": "median", "size": 3},
    {"op": "blur", "kind": "median", "region": "detected", "strength": 2, "classes": ["Normal"]},
    {"op": "anonymize", "blur_kind": "pixelate"},
    {"op": "tile", "rows": 2, "cols": 2, "overlap": 16},
    {"op": "format", "format": "webp", "quality": 80},
]


def test_a_full_chain_parses_from_json() -> None:
    steps = parse_operations(json.dumps(CHAIN), max_outputs=64)
    assert [step.op for step in steps] == [item["op"] for item in CHAIN]
    assert [step.index for step in steps] == list(range(1, 9))
    assert steps[0].describe() == CHAIN[0]


def test_format_step_sets_the_encoding_else_the_request_does() -> None:
    steps = parse_operations(CHAIN, max_outputs=64)
    assert (encode_options(steps, {"format": "png"}, "jpeg").format, encode_options(steps, {}, "jpeg").quality) == ("webp", 80)
    plain = parse_operations([{"op": "rotate", "angle": 90}], max_outputs=64)
    assert encode_options(plain, {"format": "png"}, "jpeg").format == "png"


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        ("not json", "operations must be a JSON list"),
        ("[]", "non-empty JSON list"),
        ([{"op": "sharpen"}], r"operations step 1: unknown operation 'sharpen'"),
        ([{"op": "rotate"}], r"operations step 1 \(rotate\): missing field 'angle'"),
        ([{"op": "rotate", "angle": 90}, {"op": "resize", "widht": 5}], r"step 2 \(resize\): unknown field 'widht'"),
        ([{"op": "resize", "width": 0}], r"step 1 \(resize\): width must be an integer 1-65535, got 0"),
        ([{"op": "resize", "width": 5, "scale": 2}], r"step 1 \(resize\): give either scale, or width"),
        ([{"op": "resize", "width": 5, "fit": "within"}], r'fit "within" needs both width and height'),
        ([{"op": "blur", "kind": "swirl"}], r"step 1 \(blur\): kind must be one of"),
        ([{"op": "blur", "strength": 2}], r"strength and classes are for region \"detected\""),
        ([{"op": "tile", "rows": 2, "cols": True}], r"step 1 \(tile\): cols must be an integer"),
        ([{"op": "format", "format": "gif"}], r"step 1 \(format\): format must be one of"),
        ([{"op": "format", "format": "jpeg", "lossless": True}], r"step 1 \(format\): lossless is not available for jpeg"),
        ([{"op": "format", "format": "png"}, {"op": "rotate", "angle": 90}], r"step 1 \(format\): format must be the last step"),
        ([{"op": "tile", "rows": 8, "cols": 8}, {"op": "tile", "rows": 2, "cols": 1}], "128 output images; at most 64"),
        ([{"op": "rotate", "angle": 90, "fill": [0, 0, 256]}], r"fill must be \[r, g, b\]"),
    ],
)
def test_bad_chains_name_the_step(chain: object, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        parse_operations(chain if isinstance(chain, str) else json.dumps(chain), max_outputs=64)


@pytest.mark.parametrize(
    "step",
    [{"op": "anonymize", "blur_kind": "bilateral"}, {"op": "blur", "kind": "bilateral", "region": "detected"}],
)
def test_bilateral_is_refused_where_faces_are_blurred(step: dict) -> None:
    with pytest.raises(InvalidOptionError, match="bilateral"):
        parse_operations(json.dumps([step]), max_outputs=16)


def test_bilateral_stays_for_a_whole_image_blur() -> None:
    parse_operations(json.dumps([{"op": "blur", "kind": "bilateral", "region": "image"}]), max_outputs=16)
