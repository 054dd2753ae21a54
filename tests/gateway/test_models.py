"""Priority names, request options and the seeds' path/object job shape."""

from __future__ import annotations

import pytest

from gateway.core.errors import InvalidRequestError
from gateway.jobs.models import Job, JobReference, Priority, parse_options, plan_job


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


@pytest.mark.parametrize(
    ("operation", "format", "options", "operations", "model", "parameters"),
    [
        (None, None, None, None, "pipeline", {}),
        ("encode", None, '{"lossless": true, "tile_size": "512"}', None, "transcode", {"format": "jp2", "lossless": True, "tile_size": "512"}),
        ("encode", "j2k", {"compression_ratio": 20}, None, "transcode", {"format": "j2k", "compression_ratio": 20}),
        ("decode", None, {"reduce": 2}, None, "transcode", {"format": "png", "reduce": 2}),
        ("anonymize", "png", None, '[{"op": "tile", "rows": 2, "cols": 2}]', "process",
         {"format": "png", "operations": '[{"op":"tile","rows":2,"cols":2}]'}),
    ],
)
def test_operations_choose_the_model_and_its_defaults(
    operation: str | None, format: str | None, options: object, operations: str | None, model: str, parameters: dict
) -> None:
    assert plan_job(operation, format, options, operations) == (model, parameters)


@pytest.mark.parametrize(
    ("operation", "operations", "named"),
    [
        ("transcode", None, "operation must be one of"),
        ("encode", '[{"op": "rotate", "angle": 90}]', "cannot be combined with operation encode"),
        (None, '{"op": "rotate"}', "operations must be a JSON list of steps"),
        (None, "[{", "operations is not valid JSON"),
    ],
)
def test_bad_operations_are_refused(operation: str | None, operations: str | None, named: str) -> None:
    with pytest.raises(InvalidRequestError, match=named):
        plan_job(operation, None, None, operations)


def test_reference_jobs_plan_chains_too() -> None:
    reference = JobReference(input_image="/x.jp2", operations=[{"op": "resize", "scale": 0.5}], format="webp")
    assert reference.plan() == ("process", {"format": "webp", "operations": '[{"op":"resize","scale":0.5}]'})
    assert Job().model == "pipeline" and Job.model_validate_json('{"job_id": "' + "a" * 32 + '"}').outputs is None
