"""Priority names, request options and the seeds' path/object job shape."""

from __future__ import annotations

import pytest

from gateway.core.errors import InvalidRequestError
from gateway.jobs.models import Job, JobReference, Priority, parse_options


@pytest.mark.parametrize(
    ("given", "expected"),
    [("high", Priority.high), ("LOW", Priority.low), ("2", Priority.normal), (1, Priority.high), (None, Priority.normal)],
)
def test_priority_names_and_numbers_map_to_triton_levels(given: str | int | None, expected: Priority) -> None:
    assert Priority.parse(given) == expected


@pytest.mark.parametrize("given", ["urgent", "0", 4, "1.5"])
def test_unknown_priority_is_refused(given: str | int) -> None:
    with pytest.raises(InvalidRequestError, match="priority"):
        Priority.parse(given)


def test_options_merge_format_field_and_json() -> None:
    options = parse_options("png", '{"lossless": true, "blur_classes": ["person", "car"], "blur_strength": 2.5}')
    assert options == {"format": "png", "lossless": True, "blur_classes": "person,car", "blur_strength": 2.5}


@pytest.mark.parametrize("raw", ['{"colour": "red"}', "not json", "[1, 2]", '{"quality": {"a": 1}}'])
def test_bad_options_are_refused(raw: str) -> None:
    with pytest.raises(InvalidRequestError):
        parse_options(None, raw)


def test_job_record_round_trips_with_priority_by_name() -> None:
    job = Job(priority=Priority.high, options={"quality": 80})
    text = job.model_dump_json()
    assert '"priority":"high"' in text
    assert Job.model_validate_json(text) == job


def test_reference_operations_choose_the_blur_kind() -> None:
    pixelate = JobReference(input_image="/x.jpg", operation="pixelate", options={"blur_strength": 2})
    assert pixelate.parameters() == {"blur_kind": "pixelate", "blur_strength": 2}
    with pytest.raises(InvalidRequestError, match="operation"):
        JobReference(input_image="/x.jpg", operation="sharpen").parameters()
