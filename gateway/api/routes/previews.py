"""``GET /v1/jobs/{id}/preview``: a PNG any browser shows, of a job's result or original."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from gateway.api.deps import Authenticated, InferenceDep, JobsDep
from gateway.api.openapi import binary_response
from gateway.core.errors import InvalidRequestError, SourceNotFoundError
from gateway.jobs.models import JobStatus
from gateway.jobs.service import JobService
from gateway.web.previews import render_preview
from imaging.errors import UnsupportedFormatError

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=Authenticated)

MAX_PREVIEW_SIZE = 2048


@router.get(
    "/{job_id}/preview",
    name="job_preview",
    summary="A PNG preview (at most `size` px a side) of the result or the original, any format",
    response_class=Response,
    responses={200: binary_response("image/png"),
               404: {"description": "unknown job, or its original no longer stored (source_not_found)"},
               409: {"description": "the result of a job that has not succeeded"},
               415: {"description": "the result is a zip of several outputs (preview one with `output`)"},
               422: {"description": "a bad `of`, `size` or `output` (past the job's outputs, or with `of=original`)"}},
)
async def job_preview(
    jobs: JobsDep,
    inference: InferenceDep,
    job_id: str,
    of: Annotated[Literal["result", "original"], Query(description="which image of the job")] = "result",
    size: Annotated[int, Query(ge=16, le=MAX_PREVIEW_SIZE, description="longest side in pixels")] = 1024,
    output: Annotated[int | None, Query(ge=0, description="which output of a result of several (tiles), from 0")] = None,
) -> Response:
    """JPEG 2000 and TIFF cannot be shown by browsers: this decodes the stored image through
    Triton's ``transcode`` model and answers an 8-bit PNG, never larger than ``size``. A result
    of several outputs (a zip) is previewed one output at a time (``output``, as in the job's
    ``outputs``)."""
    if output is not None and of != "result":
        raise InvalidRequestError("output picks one of the result's outputs; it cannot go with of=original")
    data = await (_stored_output(jobs, job_id, output) if output is not None else _stored_image(jobs, job_id, of))
    png = await render_preview(inference, data, size)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


async def _stored_image(jobs: JobService, job_id: str, of: str) -> bytes:
    if of == "result":
        data, result = await jobs.result(job_id)
        if result.content_type == "application/zip":
            count = len((await jobs.get(job_id)).outputs or [])
            raise UnsupportedFormatError(
                f"job {job_id}'s result is a zip of {count} outputs; preview one with output=0 to {count - 1}")
        return data
    job = await jobs.get(job_id)
    if job.original is None:
        raise SourceNotFoundError(f"job {job_id}'s original is no longer stored (GATEWAY_KEEP_ORIGINALS_S)")
    return await jobs.store.get_bytes(job.original.key)


async def _stored_output(jobs: JobService, job_id: str, output: int) -> bytes:
    job = await jobs.get(job_id)
    if job.status != JobStatus.succeeded:
        await jobs.result(job_id)  # raises the 409 that says why there is nothing yet
    outputs = job.outputs or ([job.result] if job.result is not None else [])
    if output >= len(outputs):
        raise InvalidRequestError(f"output {output}: job {job_id} has {len(outputs)} output(s), numbered from 0")
    return await jobs.store.get_bytes(outputs[output].key)
