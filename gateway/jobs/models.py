"""The job record (stored as JSON, the durable truth) and the request options it carries."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from enum import Enum, IntEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer

from gateway.core.errors import InvalidRequestError

# Options a client may pass; Triton's models validate the values (invalid_option errors).
OPTION_NAMES = ("format", "quality", "lossless", "compression_ratio", "blur_kind", "blur_strength", "blur_classes")
OptionValue = str | int | float | bool
# The seeds' "operation": what to do to the photo; each is the pipeline with these defaults.
OPERATIONS: dict[str, dict[str, OptionValue]] = {
    "anonymize": {},
    "blur": {"blur_kind": "gaussian"},
    "pixelate": {"blur_kind": "pixelate"},
}


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed)


class Priority(IntEnum):
    """Triton's request priority levels (1 is served first)."""

    high = 1
    normal = 2
    low = 3

    @classmethod
    def parse(cls, value: str | int | None) -> Priority:
        """``high|normal|low`` or ``1|2|3``; None is normal."""
        if value is None or value == "":
            return cls.normal
        text = str(value).strip().lower()
        if text.isdigit() and int(text) in cls._value2member_map_:
            return cls(int(text))
        if text in cls.__members__:
            return cls[text]
        raise InvalidRequestError(f"priority must be high, normal, low or 1-3, got {value!r}")


# In records and responses a priority reads as its name ("high"); it parses from a name or 1-3.
PriorityName = Annotated[
    Priority,
    BeforeValidator(lambda value: value if isinstance(value, Priority) else Priority.parse(value)),
    PlainSerializer(lambda priority: priority.name, return_type=str),
]


def parse_options(format: str | None = None, options: str | dict[str, Any] | None = None) -> dict[str, OptionValue]:
    """The Triton request parameters from a ``format`` field and an ``options`` JSON object."""
    if isinstance(options, str):
        try:
            options = json.loads(options) if options.strip() else {}
        except json.JSONDecodeError as error:
            raise InvalidRequestError(f"options is not valid JSON: {error}") from None
    if not isinstance(options or {}, dict):
        raise InvalidRequestError("options must be a JSON object such as {\"quality\": 80}")
    merged: dict[str, Any] = dict(options or {})
    if format:
        merged["format"] = format
    unknown = sorted(set(merged) - set(OPTION_NAMES))
    if unknown:
        raise InvalidRequestError(f"unknown option(s) {unknown}; known: {', '.join(OPTION_NAMES)}")
    return {name: _option_value(name, value) for name, value in merged.items() if value is not None}


def _option_value(name: str, value: Any) -> OptionValue:
    if isinstance(value, list) and name == "blur_classes":
        return ",".join(str(item) for item in value)
    if isinstance(value, (str, int, float, bool)):
        return value
    raise InvalidRequestError(f"option {name} must be a string, number or boolean, got {value!r}")


class JobReference(BaseModel):
    """A job on a photo that is already somewhere: a local path or an ``s3://`` object."""

    input_image: str = Field(description="absolute path under GATEWAY_ALLOWED_ROOTS, or s3://bucket/key")
    output_image: str | None = Field(None, description="also write the result here (same rules)")
    operation: str = Field("anonymize", description="anonymize (model defaults), blur or pixelate")
    priority: str | int | None = Field(None, description="high|normal|low or 1-3")
    format: str | None = Field(None, description="output format: jpeg, png, jp2, j2k, webp, tiff")
    options: dict[str, Any] = Field(default_factory=dict, description="quality, lossless, blur_strength...")

    def parameters(self) -> dict[str, OptionValue]:
        if self.operation not in OPERATIONS:
            raise InvalidRequestError(f"operation must be one of {', '.join(OPERATIONS)}, got {self.operation!r}")
        return parse_options(self.format, {**OPERATIONS[self.operation], **self.options})


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_job_id() -> str:
    return uuid.uuid4().hex


class StoredObject(BaseModel):
    """Where a stored object lives."""

    key: str
    location: str
    content_type: str
    bytes: int


class JobError(BaseModel):
    error: str
    detail: str


class Job(BaseModel):
    """One photo to process, from upload (or path / object) to stored result."""

    job_id: str = Field(default_factory=new_job_id)
    status: JobStatus = JobStatus.queued
    priority: PriorityName = Priority.normal
    options: dict[str, OptionValue] = Field(default_factory=dict)
    source: str = Field("upload", description="where the original came from: upload, a path or an s3:// URL")
    filename: str | None = None
    output_target: str | None = Field(None, description="extra copy of the result requested by the client")
    created_at: datetime = Field(default_factory=now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    processing_ms: float | None = Field(None, description="time inside Triton for the last attempt")
    attempts: int = 0
    original: StoredObject | None = None
    result: StoredObject | None = None
    metadata_object: StoredObject | None = None
    metadata: dict[str, Any] | None = Field(None, description="detections, faces, blurred regions, output, versions")
    error: JobError | None = None
    last_retry_reason: str | None = None

    def event(self) -> dict[str, Any]:
        """What a state change tells subscribers."""
        payload: dict[str, Any] = {"job_id": self.job_id, "status": self.status.value, "at": now().isoformat()}
        if self.error is not None:
            payload["error"] = self.error.model_dump()
        return payload
