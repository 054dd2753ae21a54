from __future__ import annotations

import pytest

from imaging.errors import InvalidOptionError
from imaging.options import output_options
from python_models.options import (
    BlurOptions,
    check_request_options,
    fail_closed_options,
    parse_blur_options,
    parse_class_list,
    parse_parameters,
    residual_blur,
)


def test_parameters_json() -> None:
    assert parse_parameters('{"format": "png", "quality": 80}') == {"format": "png", "quality": 80}
    assert parse_parameters("") == {} and parse_parameters(None) == {}


def test_request_overrides_configured_blur() -> None:
    defaults = BlurOptions(kind="gaussian", strength=1.0, classes=frozenset({"plate"}))
    options = parse_blur_options({"blur_kind": "pixelate", "blur_strength": "2", "blur_classes": "person, car"}, defaults)
    assert options == BlurOptions(kind="pixelate", strength=2.0, classes=frozenset({"person", "car"}))
    assert parse_blur_options({}, defaults) == defaults


@pytest.mark.parametrize(
    ("parameters", "named"),
    [({"blur_kind": "smudge"}, "blur_kind"), ({"blur_strength": "x"}, "blur_strength"), ({"blur_strength": 0}, "blur_strength"),
     ({"verify": "maybe"}, "verify"), ({"blur_uncertain": "2"}, "blur_uncertain")],
)
def test_bad_blur_options_are_named(parameters: dict, named: str) -> None:
    with pytest.raises(InvalidOptionError, match=named):
        parse_blur_options(parameters, BlurOptions())


def test_class_list() -> None:
    assert parse_class_list(" person,, licence plate ") == frozenset({"person", "licence plate"})


def test_booleans_and_configured_always_blurred_classes_are_kept() -> None:
    defaults = BlurOptions(always=frozenset({"license_plate"}))
    options = parse_blur_options({"blur_classes": "person", "verify": True, "blur_uncertain": "false"}, defaults)
    assert (options.verify, options.blur_uncertain, options.always) == (True, False, frozenset({"license_plate"}))
    assert options.blurred_classes == frozenset({"person", "license_plate"})
    assert parse_blur_options({"verify": "0", "blur_uncertain": 1}, defaults) == defaults


def test_process_takes_only_the_fail_closed_switches_from_the_request() -> None:
    configured = BlurOptions(kind="box", always=frozenset({"license_plate"}))
    options = fail_closed_options({"verify": "true", "blur_uncertain": False, "blur_kind": "median"}, configured)
    assert options == BlurOptions(kind="box", always=frozenset({"license_plate"}), verify=True, blur_uncertain=False)


def test_bilateral_is_not_an_anonymising_blur() -> None:
    with pytest.raises(InvalidOptionError, match="bilateral is edge-preserving"):
        parse_blur_options({"blur_kind": "bilateral"}, BlurOptions())


def test_the_residual_blur_is_a_gaussian_at_least_twice_the_default() -> None:
    assert residual_blur(BlurOptions(kind="box", strength=0.02)) == ("gaussian", 2.0)
    assert residual_blur(BlurOptions(kind="pixelate", strength=3.0)) == ("gaussian", 3.0)


def test_a_blur_weaker_than_the_default_is_verified_unasked() -> None:
    assert parse_blur_options({"blur_strength": "0.5"}, BlurOptions()).verify
    assert not parse_blur_options({"blur_strength": "1"}, BlurOptions()).verify


def _committed_blur_defaults() -> BlurOptions:
    """The `blur` model's defaults as its committed config.pbtxt gives them."""
    from python_models.model_config import configured_blur
    from tests.model_repository.configs import committed_config

    return configured_blur(committed_config("blur"))


@pytest.mark.parametrize(
    "parameters",
    [{"blur_kind": "bilateral"}, {"blur_strength": "-1"}, {"verify": "maybe"}, {"blur_uncertain": "2"}, {"quality": 0},
     {"format": "gif"}, {"lossless": "true"}, {"compression_ratio": 20}, {"format": "png", "tile_size": "512"},
     {"blur_kind": "smudge", "quality": 0}],
)  # fmt: skip
def test_decode_refuses_early_what_blur_or_encode_refuse_with_their_words(parameters: dict) -> None:
    """A PNG and a JPEG in one request: decode's early check fails as the blur step (with the
    committed config's defaults) and then the encode step of each image would."""
    with pytest.raises(InvalidOptionError) as early:
        check_request_options(parameters, ["png", "jpeg"])
    with pytest.raises(InvalidOptionError) as late:
        parse_blur_options(parameters, _committed_blur_defaults())
        for source_format in ("png", "jpeg"):
            output_options(parameters, source_format)
    assert str(early.value) == str(late.value)


def test_options_every_step_accepts_pass_the_early_check() -> None:
    parameters = {"blur_kind": "pixelate", "blur_strength": "2", "verify": "true", "format": "jp2", "compression_ratio": "20"}
    check_request_options(parameters, ["png", "jpeg", "bmp"])
    assert output_options({}, "bmp").format == "png" and output_options({}, "j2k").format == "jp2"
