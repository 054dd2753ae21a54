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
