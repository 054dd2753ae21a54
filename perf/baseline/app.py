"""The baseline service: FastAPI, the whole pipeline in-process per request, same REST contract
as the gateway (``POST /v1/process`` multipart ``file`` -> the processed photo).

The handler is a plain ``def``: FastAPI runs it in its thread pool, so concurrent requests run
side by side in threads (ONNX Runtime and the codecs release the GIL) with no batching.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, HTTPException, Request, Response, UploadFile

from imaging.errors import ImageError
from perf.baseline.pipeline import InProcessPipeline


def create_app(repository: Path) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pipeline = InProcessPipeline(repository)
        yield

    app = FastAPI(title="Baseline: in-process pipeline, no Triton", lifespan=lifespan)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/process")
    def process(request: Request, file: Annotated[UploadFile, File()]) -> Response:
        pipeline: InProcessPipeline = request.app.state.pipeline
        try:
            processed = pipeline.process(file.file.read())
        except ImageError as error:
            raise HTTPException(status_code=422, detail=f"{error.code}: {error}") from None
        headers = {"X-Metadata": json.dumps(processed.metadata, separators=(",", ":"))}
        return Response(processed.result, media_type=processed.content_type, headers=headers)

    return app
