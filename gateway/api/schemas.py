"""Response bodies (the job record itself is :class:`gateway.jobs.models.Job`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gateway.jobs.models import Job, JobError, JobStatus, PriorityName, WebhookDelivery


class JobAccepted(BaseModel):
    """A job whose original is stored: it will run, even across restarts."""

    job_id: str
    status: JobStatus
    priority: str
    filename: str | None = Field(None, description="the uploaded file's name, as sent")
    status_url: str
    events_url: str


class JobDeleted(BaseModel):
    """``DELETE /v1/jobs/{id}``: the stored objects that were removed."""

    job_id: str
    deleted: list[str] = Field(description="storage keys removed: original, results, outputs, metadata, record")


class BatchAccepted(BaseModel):
    jobs: list[JobAccepted]


class JobView(Job):
    """The job record with links."""

    status_url: str
    result_url: str | None = Field(None, description="GET it for the processed photo once succeeded")
    webhook: WebhookDelivery | None = Field(None, description="the delivery to callback_url: each attempt, and how it ended")


class JobSummary(BaseModel):
    """One row of ``GET /v1/jobs``: the job's state without its metadata."""

    job_id: str
    status: JobStatus
    priority: PriorityName
    model: str
    source: str
    filename: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: JobError | None
    status_url: str
    result_url: str | None = None


class JobList(BaseModel):
    """A page of jobs, newest first; ``next_cursor`` (opaque) fetches the next page, null at the end."""

    jobs: list[JobSummary]
    next_cursor: str | None


class ProcessedView(BaseModel):
    """``POST /v1/process?include=metadata``: the metadata, the result kept as a finished job."""

    job_id: str
    processing_ms: float
    content_type: str
    result_url: str
    metadata: dict[str, Any]


class VersionStateView(BaseModel):
    """One version as Triton's repository index reports it."""

    version: int | None
    state: str = Field(description="READY, UNAVAILABLE, LOADING, ...")
    reason: str


class ModelView(BaseModel):
    """One model of the repository: Triton's view of it and its files (``GET /v1/models``)."""

    name: str
    versions: list[VersionStateView]
    on_disk: list[int] = Field(description="version folders in the repository")
    fixed: list[int] | None = Field(description="versions fixed by swap/rollback; null: config.pbtxt's own policy (latest)")
    history: list[int] = Field(description="versions swapped to, oldest first: the last is served, rollback returns to the one before")
    pinned: dict[str, list[str]] = Field(description="pinned version -> the generated models serving it")
    ready: list[int] = Field(description="versions Triton serves now")


class ServedModelView(ModelView):
    """A model with the classes its newest ready version finds (detectors; [] for the others)."""

    classes: list[str]


class ServedModelList(BaseModel):
    models: list[ServedModelView]


class ClassList(BaseModel):
    """``GET /v1/classes``: what `blur_classes` may name, over all detectors and per detector."""

    classes: list[str]
    models: dict[str, list[str]]


class ModelLoaded(ModelView):
    """``POST /v1/models/{model}/load``: the primary's status after, and each backend's outcome."""

    backends: dict[str, str] = Field(description='gRPC address -> "ok" or "unavailable: <why>"')


class ModelSwapped(BaseModel):
    """``POST /v1/models/{model}/swap`` and ``/rollback``: the versions before and after."""

    model: str
    previous: list[int]
    current: int
    seconds: float
    backends: dict[str, str] = Field(description='gRPC address -> "ok" or "unavailable: <why>"')


class ModelPinned(BaseModel):
    model: str
    version: int
    serving_models: list[str] = Field(description="the generated models serving the pinned version")


class ModelUnpinned(BaseModel):
    model: str
    version: int
    removed_models: list[str]


class ThroughputView(BaseModel):
    """Photos processed by the replicas that answered, added up."""

    uptime_s: float
    processed: dict[str, int] = Field(description="outcome -> photos")
    total: int
    success_rate: float | None
    throughput_per_s: float
    recent_throughput_per_s: float
    recent_window_s: float
    mean_triton_latency_ms: float | None


class ReplicasView(BaseModel):
    answered: int
    names: list[str]


class TritonModelStats(BaseModel):
    """Triton's statistics of one model version, reduced to counts and mean times."""

    name: str | None
    version: str | None
    inference_count: int
    execution_count: int
    success_count: int
    fail_count: int
    mean_request_ms: float | None
    mean_queue_ms: float | None
    mean_compute_ms: float | None


class TritonStats(BaseModel):
    url: str
    models: list[TritonModelStats]


class TritonUnreachable(BaseModel):
    url: str
    error: str


class Stats(BaseModel):
    """``GET /v1/stats``: every live replica's figures added up, the engine's queue, Triton's counts."""

    engine: str
    gateway: ThroughputView
    jobs: dict[str, int] = Field(description="jobs by state: queued and running from the engine, finished ones counted by the replicas")
    in_flight: int
    max_in_flight: int
    queue_depth: int
    queue_depth_by_priority: dict[str, int]
    replicas: ReplicasView
    triton: TritonStats | TritonUnreachable
