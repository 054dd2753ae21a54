"""Response bodies (the job record itself is :class:`gateway.jobs.models.Job`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from gateway.jobs.models import Job, JobStatus


class JobAccepted(BaseModel):
    """A job whose original is stored: it will run, even across restarts."""

    job_id: str
    status: JobStatus
    priority: str
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


class ProcessedView(BaseModel):
    """``POST /v1/process?include=metadata``: the metadata, the result kept as a finished job."""

    job_id: str
    processing_ms: float
    content_type: str
    result_url: str
    metadata: dict[str, Any]
