"""Durable jobs: create from an upload or a path / ``s3://`` object, read status, fetch results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile

from gateway.api.deps import Authenticated, JobsDep, SettingsDep, link
from gateway.api.schemas import BatchAccepted, JobAccepted, JobDeleted, JobView
from gateway.core.config import Settings
from gateway.core.errors import InvalidRequestError
from gateway.jobs.models import Job, JobReference, JobStatus, Priority, plan_job
from gateway.jobs.service import JobService

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=Authenticated)

FORM_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the photo"},
        "priority": {"type": "string", "description": "high|normal|low or 1-3"},
        "format": {"type": "string", "description": "output format"},
        "options": {"type": "string", "description": "JSON object of options"},
        "operation": {"type": "string", "description": "anonymize (default), blur, pixelate, decode or encode"},
        "operations": {"type": "string", "description": 'JSON list of steps, e.g. [{"op": "tile", "rows": 2, "cols": 2}]'},
    },
}
CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": FORM_SCHEMA},
            "application/json": {"schema": JobReference.model_json_schema()},
        },
    }
}


def accepted(request: Request, settings: Settings, job: Job) -> JobAccepted:
    return JobAccepted(
        job_id=job.job_id,
        status=job.status,
        priority=job.priority.name,
        status_url=link(request, settings, "get_job", job_id=job.job_id),
        events_url=link(request, settings, "job_events") + f"?job_id={job.job_id}",
    )


@router.post("", status_code=202, summary="Queue one photo (upload, path or s3:// object)", openapi_extra=CREATE_BODY)
async def create_job(request: Request, response: Response, settings: SettingsDep, jobs: JobsDep) -> JobAccepted:
    """Multipart ``file`` (+ ``priority``, ``format``, ``options``), or JSON naming ``input_image``.

    Answers 202 only once the original is stored.
    """
    if request.headers.get("content-type", "").startswith("application/json"):
        job = await jobs.submit_reference(await _reference(request))
    else:
        job = await _submit_form(request, jobs)
    response.headers["Location"] = link(request, settings, "get_job", job_id=job.job_id)
    return accepted(request, settings, job)


async def _reference(request: Request) -> JobReference:
    try:
        return JobReference.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


async def _submit_form(request: Request, jobs: JobService) -> Job:
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            raise InvalidRequestError("send the photo as the multipart field 'file', or JSON with input_image")
        fields: dict[str, Any] = {name: form.get(name) for name in ("priority", "format", "options", "operation", "operations")}
        priority = Priority.parse(fields["priority"])
        model, parameters = plan_job(fields["operation"], fields["format"], fields["options"], fields["operations"])
        return await jobs.submit_upload(upload.file, upload.filename, priority, parameters, model)


@router.post("/batch", status_code=202, summary="Queue many photos, one job each")
async def create_jobs(
    request: Request,
    settings: SettingsDep,
    jobs: JobsDep,
    files: Annotated[list[UploadFile], File(description="the photos")],
    priority: Annotated[str | None, Form(description="high|normal|low or 1-3")] = None,
    format: Annotated[str | None, Form()] = None,
    options: Annotated[str | None, Form(description="JSON object of options")] = None,
    operation: Annotated[str | None, Form(description="anonymize (default), blur, pixelate, decode or encode")] = None,
    operations: Annotated[str | None, Form(description="JSON list of steps (the process model)")] = None,
) -> BatchAccepted:
    if len(files) > settings.max_batch_files:
        raise InvalidRequestError(f"{len(files)} files, above the limit of {settings.max_batch_files} (GATEWAY_MAX_BATCH_FILES)")
    level, (model, parameters) = Priority.parse(priority), plan_job(operation, format, options, operations)
    created = await jobs.submit_uploads([(upload.file, upload.filename) for upload in files], level, parameters, model)
    return BatchAccepted(jobs=[accepted(request, settings, job) for job in created])


@router.get("/{job_id}", name="get_job", summary="Status, timings, metadata and storage locations")
async def get_job(
    request: Request,
    settings: SettingsDep,
    jobs: JobsDep,
    job_id: str,
    wait: Annotated[float, Query(ge=0, description="long-poll: wait up to this many seconds for the job to finish")] = 0,
) -> JobView:
    job = await jobs.wait(job_id, min(wait, settings.max_wait_s)) if wait else await jobs.get(job_id)
    result_url = link(request, settings, "job_result", job_id=job_id) if job.status == JobStatus.succeeded else None
    return JobView(**job.model_dump(), status_url=link(request, settings, "get_job", job_id=job_id), result_url=result_url)


@router.get(
    "/{job_id}/result",
    name="job_result",
    summary="The processed photo (a zip of every output when there are several)",
    response_class=Response,
    responses={200: {"content": {"image/*": {"schema": {"type": "string", "format": "binary"}}}}, 409: {"description": "not finished"}},
)
async def job_result(jobs: JobsDep, job_id: str) -> Response:
    data, result = await jobs.result(job_id)
    filename = result.key.rsplit("/", 1)[-1]
    return Response(data, media_type=result.content_type, headers={"Content-Disposition": f'inline; filename="{filename}"'})


@router.delete(
    "/{job_id}",
    name="delete_job",
    summary="Delete a queued or finished job: original, result, outputs, metadata and record",
    responses={409: {"description": "the job is running (job_running): delete it once it has finished"}},
)
async def delete_job(jobs: JobsDep, job_id: str) -> JobDeleted:
    """A queued job is cancelled; a running one is refused with 409 ``job_running``.

    A copy written to the job's ``output_image`` is the client's and stays.
    """
    return JobDeleted(job_id=job_id, deleted=await jobs.delete(job_id))
