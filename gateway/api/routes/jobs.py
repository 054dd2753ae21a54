"""Durable jobs: create from an upload or a path / ``s3://`` object, read status, fetch results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUploadFile

from gateway.api.deps import Authenticated, JobsDep, ServicesDep, SettingsDep, link
from gateway.api.downloads import content_disposition, download_name
from gateway.api.openapi import binary_response
from gateway.api.schemas import BatchAccepted, JobAccepted, JobDeleted, JobList, JobSummary, JobView
from gateway.core.config import Settings
from gateway.core.errors import InvalidRequestError, JobNotFinishedError
from gateway.jobs import listing
from gateway.jobs.listing import JobFilter
from gateway.jobs.models import Callback, Job, JobReference, JobStatus, Priority, plan_job
from gateway.jobs.service import JobService, failed_error
from gateway.jobs.webhooks import WebhookDispatcher, callback_for

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=Authenticated)
MAX_PAGE = 1000

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
        "callback_url": {"type": "string", "description": "POSTed the outcome once the job ends (webhook)"},
    },
}
CALLBACK_FIELD = "callback_url"
CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": FORM_SCHEMA},
            "application/json": {"schema": JobReference.model_json_schema()},
        },
    }
}


def get_webhooks(services: ServicesDep) -> WebhookDispatcher:
    if services.webhooks is None:
        raise RuntimeError("the webhook dispatcher is not open")
    return services.webhooks


WebhooksDep = Annotated[WebhookDispatcher, Depends(get_webhooks)]


def callback(request: Request, settings: Settings, url: str | None) -> Callback | None:
    """The job's callback for ``url`` (None when empty); 422 callback_not_allowed when refused."""
    links_base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    secret = bool(settings.webhook_secret.get_secret_value())
    return callback_for(url, settings.webhook_allowed_hosts, secret, links_base)


def accepted(request: Request, settings: Settings, job: Job) -> JobAccepted:
    return JobAccepted(
        job_id=job.job_id,
        status=job.status,
        priority=job.priority.name,
        filename=job.filename,
        status_url=link(request, settings, "get_job", job_id=job.job_id),
        events_url=link(request, settings, "job_events") + f"?job_id={job.job_id}",
    )


@router.post("", status_code=202, summary="Queue one photo (upload, path or s3:// object)", openapi_extra=CREATE_BODY)
async def create_job(request: Request, response: Response, settings: SettingsDep, jobs: JobsDep) -> JobAccepted:
    """Multipart ``file`` (+ ``priority``, ``format``, ``options``), or JSON naming ``input_image``.

    Answers 202 only once the original is stored.
    """
    if request.headers.get("content-type", "").startswith("application/json"):
        reference = await _reference(request)
        job = await jobs.submit_reference(reference, callback(request, settings, reference.callback_url))
    else:
        job = await _submit_form(request, settings, jobs)
    response.headers["Location"] = link(request, settings, "get_job", job_id=job.job_id)
    return accepted(request, settings, job)


async def _reference(request: Request) -> JobReference:
    try:
        return JobReference.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None


async def _submit_form(request: Request, settings: Settings, jobs: JobService) -> Job:
    async with request.form(max_files=1, max_fields=9) as form:
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            raise InvalidRequestError("send the photo as the multipart field 'file', or JSON with input_image")
        names = ("priority", "format", "options", "operation", "operations", CALLBACK_FIELD)
        fields: dict[str, Any] = {name: form.get(name) for name in names}
        priority = Priority.parse(fields["priority"])
        model, parameters = plan_job(fields["operation"], fields["format"], fields["options"], fields["operations"])
        wanted = callback(request, settings, fields[CALLBACK_FIELD])
        return await jobs.submit_upload(upload.file, upload.filename, priority, parameters, model, wanted)


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
    callback_url: Annotated[str | None, Form(description="POSTed each job's outcome once it ends (webhook)")] = None,
) -> BatchAccepted:
    """One job per file; each reply row echoes its file's ``filename``."""
    if len(files) > settings.max_batch_files:
        raise InvalidRequestError(f"{len(files)} files, above the limit of {settings.max_batch_files} (GATEWAY_MAX_BATCH_FILES)")
    level, (model, parameters) = Priority.parse(priority), plan_job(operation, format, options, operations)
    wanted = callback(request, settings, callback_url)
    created = await jobs.submit_uploads([(upload.file, upload.filename) for upload in files], level, parameters, model, wanted)
    return BatchAccepted(jobs=[accepted(request, settings, job) for job in created])


@router.get("", name="list_jobs", summary="Jobs, newest first, paged; filtered by status and creation time")
async def list_jobs(
    request: Request,
    settings: SettingsDep,
    jobs: JobsDep,
    status: Annotated[list[JobStatus] | None, Query(description="only jobs in these states (repeatable)")] = None,
    created_after: Annotated[datetime | None, Query(description="ISO 8601 with a zone: created at or after")] = None,
    created_before: Annotated[datetime | None, Query(description="ISO 8601 with a zone: created before")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="most jobs in the page")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> JobList:
    """A page costs one store listing plus one record read per job looked at (see gateway.jobs.listing)."""
    wanted = JobFilter(frozenset(status or ()), created_after, created_before)
    page = await listing.list_jobs(jobs.repository, wanted, limit, cursor)
    return JobList(jobs=[summary(request, settings, job) for job in page.jobs], next_cursor=page.next_cursor)


def summary(request: Request, settings: Settings, job: Job) -> JobSummary:
    links = _links(request, settings, job)
    return JobSummary(**job.model_dump(include=set(JobSummary.model_fields) - set(links)), **links)


def _links(request: Request, settings: Settings, job: Job) -> dict[str, str | None]:
    succeeded = job.status == JobStatus.succeeded
    return {
        "status_url": link(request, settings, "get_job", job_id=job.job_id),
        "result_url": link(request, settings, "job_result", job_id=job.job_id) if succeeded else None,
    }


@router.get("/{job_id}", name="get_job", summary="Status, timings, metadata, storage locations and webhook attempts")
async def get_job(
    request: Request,
    settings: SettingsDep,
    jobs: JobsDep,
    webhooks: WebhooksDep,
    job_id: str,
    wait: Annotated[float, Query(ge=0, description="long-poll: wait up to this many seconds for the job to finish")] = 0,
) -> JobView:
    job = await jobs.wait(job_id, min(wait, settings.max_wait_s)) if wait else await jobs.get(job_id)
    return JobView(**job.model_dump(), **_links(request, settings, job), webhook=await webhooks.delivery(job))


@router.get(
    "/{job_id}/metadata",
    name="job_metadata",
    summary="The metadata of a succeeded job (detections, faces, blurred regions, output, versions)",
    responses={409: {"description": "not finished (job_not_finished), or failed (job_failed, with the job's error)"}},
)
async def job_metadata(jobs: JobsDep, job_id: str) -> dict[str, Any]:
    job = await jobs.get(job_id)
    if job.status == JobStatus.failed:
        raise failed_error(job)
    if job.status != JobStatus.succeeded or job.metadata is None:
        raise JobNotFinishedError(f"job {job_id} is {job.status.value}; its metadata exists once it has succeeded")
    return job.metadata


@router.get(
    "/{job_id}/result",
    name="job_result",
    summary="The processed photo (a zip of every output when there are several)",
    response_class=Response,
    responses={200: binary_response("image/*"),
               409: {"description": "not finished (job_not_finished), or failed (job_failed, with the job's error)"}},
)
async def job_result(jobs: JobsDep, job_id: str) -> Response:
    """Downloads as ``<original stem>.<result extension>`` (RFC 6266; UTF-8 names in ``filename*``)."""
    data, result = await jobs.result(job_id)
    name = download_name(await jobs.get(job_id), result)
    return Response(data, media_type=result.content_type, headers={"Content-Disposition": content_disposition(name)})


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
