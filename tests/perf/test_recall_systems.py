"""Pipeline variants parsed from the command line (pure)."""

from __future__ import annotations

import pytest

from perf.recall_systems import Variant


def test_a_variant_types_its_parameters() -> None:
    variant = Variant.parse("careful:thorough=true,face_threshold=0.3,passes=3,blur_kind=pixelate")
    assert variant.name == "careful"
    assert variant.parameters == {"thorough": True, "face_threshold": "0.3", "passes": 3, "blur_kind": "pixelate"}
    assert variant.label == "pipeline careful (thorough=True, face_threshold=0.3, passes=3, blur_kind=pixelate)"


@pytest.mark.parametrize("raw", ["thorough", ":thorough=true", "x:thorough", "x:=1", "x:"])
def test_a_malformed_variant_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="NAME:key=value"):
        Variant.parse(raw)
