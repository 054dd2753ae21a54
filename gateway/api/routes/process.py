"""``POST /v1/process``: one photo through the pipeline now."""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from gateway.api.deps import Authenticated, InferenceDep, JobsDep, SettingsDep, link
from gateway.api.downloads import content_disposition
from gateway.api.schemas import ProcessedView
from gateway.inference.triton import Processed
from gateway.jobs.archive import zip_outputs
from gateway.jobs.models import Priority, plan_job
from gateway.jobs.repository import EXTENSIONS
from gateway.jobs.uploads import inspect_upload

router = APIRouter(prefix="/v1", tags=["process"], dependencies=Authenticated)

PHOTO = {"content": {"image/*": {"schema": {"type": "string", "format": "binary"}}, "application/json": {}}}


@router.post(
    "/process",
    summary="Anonymise one photo and answer it",
    response_model=None,
    responses={200: {**PHOTO, "description": "the processed photo; metadata JSON in the X-Metadata header, "
                     "or with ?include=metadata a JSON body (ProcessedView) with a result URL"},
               429: {"description": "too many requests in flight; see Retry-After"}},
)
async def process_photo(
    request: Request,
    settings: SettingsDep,
    inference: InferenceDep,
    jobs: JobsDep,
    file: Annotated[UploadFile, File(description="the photo (JPEG, PNG, JPEG 2000, WebP, TIFF, BMP)")],
    priority: Annotated[str | None, Form(description="high|normal|low or 1-3")] = None,
    format: Annotated[str | None, Form(description="output format: jpeg, png, jp2, j2k, webp, tiff")] = None,
    options: Annotated[str | None, Form(description='JSON object, e.g. {"quality": 80, "blur_kind": "pixelate"}')] = None,
    operation: Annotated[str | None, Form(description="anonymize (default), blur, pixelate, decode or encode")] = None,
    operations: Annotated[str | None, Form(description='JSON list of steps, e.g. [{"op": "resize", "scale": 0.5}]')] = None,
    include: Annotated[Literal["metadata"] | None, Query(description="metadata: answer JSON instead of the photo")] = None,
) -> Response | ProcessedView:
    level, (model, parameters) = Priority.parse(priority), plan_job(operation, format, options, operations)
    fmt, _ = inspect_upload(file.file, settings.max_upload_bytes, settings.max_pixels, parameters)
    data = await file.read()
    processed, elapsed_ms = await inference.run(data, parameters, level, wait=False, model=model)
    if include == "metadata":
        job = await jobs.record_processed(data, fmt, file.filename, level, parameters, processed, elapsed_ms, model)
        result_url = link(request, settings, "job_result", job_id=job.job_id)
        content_type = job.result.content_type if job.result else processed.content_type  # a zip for several outputs
        return ProcessedView(job_id=job.job_id, processing_ms=round(elapsed_ms, 3), content_type=content_type,
                             result_url=result_url, metadata=job.metadata or processed.metadata)
    return photo_response(processed, file.filename, elapsed_ms)


def photo_response(processed: Processed, filename: str | None, elapsed_ms: float) -> Response:
    """The photo (a zip when there are several outputs), its metadata as compact JSON in
    ``X-Metadata``, and a download name."""
    stem = PurePath(filename or "photo").stem or "photo"
    body, media_type = processed.result, processed.content_type
    name = f"{stem}-anonymised.{EXTENSIONS.get(processed.format, processed.format)}"
    if len(processed.results) > 1:
        body, media_type, name = zip_outputs(processed.results, processed.metadata), "application/zip", f"{stem}-outputs.zip"
    headers = {
        "X-Metadata": json.dumps(processed.metadata, separators=(",", ":")),
        "X-Processing-Ms": f"{elapsed_ms:.1f}",
        "Content-Disposition": content_disposition(name, "inline"),
    }
    return Response(body, media_type=media_type, headers=headers)
