"""The header validators on seeded mutations of real files: they answer with a Header or an
ImageError, never another exception (an IndexError there would be a 500, not a named 422)."""

from __future__ import annotations

import collections

from imaging.errors import ImageError
from imaging.formats import sniff_format
from imaging.validate_header import validate_header
from tests.fuzz import cases


def test_mutations_get_a_header_or_an_image_error() -> None:
    outcomes: collections.Counter[str] = collections.Counter()
    for _, _, data in cases(20_000, seed=3):  # about a second
        try:
            validate_header(data, sniff_format(data))
        except ImageError as error:
            outcomes[error.code] += 1
        else:
            outcomes["passed"] += 1
    assert outcomes["passed"] > 2_000 and outcomes["corrupt_image"] > 2_000, outcomes  # both sides were reached
