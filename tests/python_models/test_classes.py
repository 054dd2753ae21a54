from __future__ import annotations

import pytest

from imaging.errors import InvalidOptionError
from python_models.classes import check_blur_classes, standard_class_name, standard_class_names


@pytest.mark.parametrize(
    ("trained", "standard"),
    [("Normal", "person"), ("Fall", "person"), ("License_Plate", "license_plate"), ("Licence Plate", "license_plate"),
     ("number-plate", "license_plate"), ("person", "person"), ("traffic light", "traffic light"), ("Car", "car")],
)
def test_trained_names_become_the_names_people_use(trained: str, standard: str) -> None:
    assert standard_class_name(trained) == standard


def test_mapping_is_idempotent_and_keeps_every_id() -> None:
    names = standard_class_names({0: "Normal", 1: "Fall"})
    assert names == {0: "person", 1: "person"} and standard_class_names(names) == names


def test_unknown_classes_are_refused_with_the_available_ones() -> None:
    check_blur_classes({"person"}, ["person", "license_plate"])
    with pytest.raises(InvalidOptionError, match=r"^blur_classes names Normal, car, which no served detector has; available: license_plate, person$"):
        check_blur_classes({"car", "Normal", "person"}, ["person", "license_plate"])
    assert InvalidOptionError.code == "invalid_option"
