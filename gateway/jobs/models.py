"""The job record (stored as JSON, the durable truth) and the request options it carries."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer

from gateway.core.errors import InvalidRequestError

# Options a client may pass; Triton's models validate the values (invalid_option errors).
OPTION_NAMES = (
    "format", "quality", "lossless", "compression_ratio", "blur_kind", "blur_strength", "blur_classes",
    "face_threshold", "plate_threshold", "blur_uncertain", "verify", "thorough",  # detection: fail closed by choice
    "psnr", "tile_size", "resolutions", "reduce",  # JPEG 2000 encode / reduced-resolution decode
    "detect_version",  # pins the detector version (the gateway routes it; not sent to Triton)
)
OptionValue = str | int | float | bool
# The seeds' "operation": what to do to the photo, as default options of one of Triton's models.
OPERATIONS: dict[str, dict[str, OptionValue]] = {
    "anonymize": {},
    "blur": {"blur_kind": "gaussian"},
    "pixelate": {"blur_kind": "pixelate"},
    "decode": {"format": "png"},  # transcode: the decoded pixels, losslessly (with `reduce` for a preview)
    "encode": {"format": "jp2"},  # transcode: to JPEG 2000 (lossless, compression_ratio, psnr, tile_size...)
}
TRANSCODE_OPERATIONS = frozenset({"decode", "encode"})


def plan_job(
    operation: str | None, format: str | None, options: str | dict[str, Any] | None, operations: object = None
) -> tuple[str, dict[str, OptionValue]]:
    """(model role, Triton request parameters) for a request's operation, options and chain.

    An ``operations`` chain (JSON list of steps) goes to the `process` model; decode and encode
    go to `transcode`; anonymize, blur and pixelate to `pipeline`.
    """
    name = operation or "anonymize"
    if name not in OPERATIONS:
        raise InvalidRequestError(f"operation must be one of {', '.join(OPERATIONS)}, got {name!r}")
    chain = parse_chain(operations)
    if chain is not None and name in TRANSCODE_OPERATIONS:
        raise InvalidRequestError(f"operations (a chain of steps) cannot be combined with operation {name}")
    parameters = parse_options(format, {**OPERATIONS[name], **_options_object(options)})
    if chain is not None:
        return "process", {**parameters, "operations": chain}
    return ("transcode" if name in TRANSCODE_OPERATIONS else "pipeline"), parameters


def parse_chain(operations: object) -> str | None:
    """The ``operations`` field as compact JSON of a list of steps; Triton's `process` checks each step."""
    if operations is None or operations == "":
        return None
    if isinstance(operations, str):
        operations = _json_value("operations", operations)
    if not isinstance(operations, list) or not all(isinstance(step, dict) for step in operations):
        raise InvalidRequestError('operations must be a JSON list of steps such as [{"op": "resize", "scale": 0.5}]')
    try:
        return json.dumps(operations, separators=(",", ":"))
    except (RecursionError, ValueError):
        raise InvalidRequestError("operations is nested too deeply") from None


def _json_value(field: str, text: str) -> Any:
    """``text`` parsed as JSON; malformed, too deeply nested or over-long numbers are the client's fault."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidRequestError(f"{field} is not valid JSON: {error}") from None
    except RecursionError:
        raise InvalidRequestError(f"{field} is nested too deeply (JSON)") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise InvalidRequestError(f"{field} is not acceptable JSON: {error}") from None


def _shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error details that quote client input."""
    if isinstance(value, int) and value.bit_length() > 128:  # repr() itself refuses past 4300 digits
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        if isinstance(value, int) and not isinstance(value, bool):
            if value in cls._value2member_map_:
                return cls(value)
        elif isinstance(value, str):
            text = value.strip().lower()
            if text in ("1", "2", "3"):
                return cls(int(text))
            if text in cls.__members__:
                return cls[text]
        raise InvalidRequestError(f"priority must be high, normal, low or 1-3, got {_shown(value)}")


# In records and responses a priority reads as its name ("high"); it parses from a name or 1-3.
PriorityName = Annotated[
    Priority,
    BeforeValidator(lambda value: value if isinstance(value, Priority) else Priority.parse(value)),
    PlainSerializer(lambda priority: priority.name, return_type=str),
]


def _options_object(options: str | dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(options, str):
        options = _json_value("options", options) if options.strip() else {}
    if not isinstance(options or {}, dict):
        raise InvalidRequestError("options must be a JSON object such as {\"quality\": 80}")
    return dict(options or {})


def parse_options(format: str | None = None, options: str | dict[str, Any] | None = None) -> dict[str, OptionValue]:
    """The Triton request parameters from a ``format`` field and an ``options`` JSON object."""
    merged: dict[str, Any] = _options_object(options)
    if format:
        merged["format"] = format
    unknown = sorted(set(merged) - set(OPTION_NAMES))
    if unknown:
        raise InvalidRequestError(f"unknown option(s) {unknown}; known: {', '.join(OPTION_NAMES)}")
    return {name: _option_value(name, value) for name, value in merged.items() if value is not None}


def _option_value(name: str, value: Any) -> OptionValue:
    if isinstance(value, list) and name == "blur_classes":
        return ",".join(str(item) for item in value)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        raise InvalidRequestError(f"option {name} is out of range: {_shown(value)}")
    if isinstance(value, (str, int, float, bool)):
        return value
    raise InvalidRequestError(f"option {name} must be a string, number or boolean, got {_shown(value)}")


class JobReference(BaseModel):
    """A job on a photo that is already somewhere: a local path or an ``s3://`` object."""

    input_image: str = Field(description="absolute path under GATEWAY_ALLOWED_ROOTS, or s3://bucket/key")
    output_image: str | None = Field(None, description="also write the result here (same rules)")
    operation: str = Field("anonymize", description="anonymize (model defaults), blur, pixelate, decode or encode")
    priority: str | int | None = Field(None, description="high|normal|low or 1-3")
    format: str | None = Field(None, description="output format: jpeg, png, jp2, j2k, webp, tiff")
    options: dict[str, Any] = Field(default_factory=dict, description="quality, lossless, blur_strength...")
    operations: list[dict[str, Any]] | None = Field(None, description='chain of steps, e.g. [{"op": "tile", "rows": 2, "cols": 2}]')
    callback_url: str | None = Field(None, description="POSTed the job's outcome once it ends (webhook); host in GATEWAY_WEBHOOK_ALLOWED_HOSTS")

    def plan(self) -> tuple[str, dict[str, OptionValue]]:
        """(model role, Triton request parameters); see :func:`plan_job`."""
        return plan_job(self.operation, self.format, self.options, self.operations)

    def parameters(self) -> dict[str, OptionValue]:
        return self.plan()[1]


def now() -> datetime:
    return datetime.now(timezone.utc)


def utc_text(moment: datetime) -> str:
    """``moment`` (timezone-aware) as ISO 8601 in UTC with a ``Z``, the way job records are written
    (pydantic's JSON form), so events, webhooks and records write times alike."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


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


class Callback(BaseModel):
    """Where the job's outcome is POSTed once it ends, and the gateway URL its links start with."""

    url: str = Field(description="the client's callback_url (checked against GATEWAY_WEBHOOK_ALLOWED_HOSTS)")
    links_base: str = Field(description="the gateway URL the job was accepted at (GATEWAY_PUBLIC_URL when set)")


class WebhookAttempt(BaseModel):
    """One POST of a job's outcome to its callback URL."""

    at: datetime
    status_code: int | None = Field(None, description="the receiver's HTTP status; null when no answer came")
    error: str | None = Field(None, description="why the attempt failed (connection error, timeout, status)")
    duration_ms: float


class WebhookDelivery(BaseModel):
    """The delivery of a job's outcome: every attempt, and how it ended."""

    url: str
    state: Literal["pending", "delivered", "failed"] = "pending"
    attempts: list[WebhookAttempt] = Field(default_factory=list)
    reason: str | None = Field(None, description="why it failed, or why it is pending again (gateway shut down)")
    updated_at: datetime = Field(default_factory=now)


class Job(BaseModel):
    """One photo to process, from upload (or path / object) to stored result."""

    job_id: str = Field(default_factory=new_job_id)
    status: JobStatus = JobStatus.queued
    priority: PriorityName = Priority.normal
    model: str = Field("pipeline", description="the model role that serves it: pipeline, transcode or process")
    options: dict[str, OptionValue] = Field(default_factory=dict)
    source: str = Field("upload", description="where the original came from: upload, a path or an s3:// URL")
    filename: str | None = None
    output_target: str | None = Field(None, description="extra copy of the result requested by the client")
    created_at: datetime = Field(default_factory=now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    processing_ms: float | None = Field(None, description="time inside Triton for the last attempt")
    attempts: int = 0
    timeouts: int = Field(0, description="attempts that outlasted GATEWAY_TRITON_TIMEOUT_S")
    crashes: int = Field(0, description="attempts that ended in a model crash (model_crashed)")
    original: StoredObject | None = None
    result: StoredObject | None = Field(None, description="the processed photo; a zip of every output when there are several")
    outputs: list[StoredObject] | None = Field(None, description="each output image, when the model made several (tiles)")
    metadata_object: StoredObject | None = None
    metadata: dict[str, Any] | None = Field(None, description="detections, faces, blurred regions, output, versions")
    error: JobError | None = None
    last_retry_reason: str | None = None
    original_expires_at: datetime | None = Field(None, description="when the original is deleted (retention); null: kept")
    expires_at: datetime | None = Field(None, description="when the whole job is deleted (retention); null: kept")
    callback: Callback | None = Field(None, description="webhook: POSTed the outcome once the job ends")

    def event(self) -> dict[str, Any]:
        """What a state change tells subscribers."""
        payload: dict[str, Any] = {"job_id": self.job_id, "status": self.status.value, "at": utc_text(now())}
        if self.error is not None:
            payload["error"] = self.error.model_dump()
        return payload
