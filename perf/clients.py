"""The two ways a photo reaches the service: multipart REST upload, or gRPC to Triton directly."""

from __future__ import annotations

import numpy as np
import tritonclient.grpc.aio as grpcclient

from contracts.tensors import IMAGE, METADATA, RESULT
from perf.errors import MeasurementError

REST_PATH = "/v1/process"


class RestUploader:
    """``POST {base_url}/v1/process`` with the photo as multipart ``file``; reads the whole answer."""

    def __init__(self, base_url: str, connections: int, timeout_s: float = 300.0) -> None:
        import httpx

        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout_s)

    async def send(self, payload: bytes) -> None:
        reply = await self._client.post(REST_PATH, files={"file": ("photo.jpg", payload, "image/jpeg")})
        if reply.status_code != 200:
            raise MeasurementError(f"HTTP {reply.status_code}: {reply.text[:200]}")
        if not reply.content:
            raise MeasurementError("HTTP 200 with an empty body")

    async def close(self) -> None:
        await self._client.aclose()


class GrpcPipeline:
    """One ``pipeline`` request per photo over gRPC (asyncio tritonclient), at a fixed priority."""

    def __init__(self, url: str, model: str = "pipeline", timeout_s: float = 300.0) -> None:
        self._client = grpcclient.InferenceServerClient(url)
        self.model = model
        self.timeout_s = timeout_s

    async def infer(self, payload: bytes, priority: int = 0) -> None:
        array = np.empty((1, 1), dtype=np.object_)
        array[0, 0] = payload
        image = grpcclient.InferInput(IMAGE, [1, 1], "BYTES")
        image.set_data_from_numpy(array)
        outputs = [grpcclient.InferRequestedOutput(RESULT), grpcclient.InferRequestedOutput(METADATA)]
        reply = await self._client.infer(
            self.model, [image], outputs=outputs, priority=priority, client_timeout=self.timeout_s
        )
        if not reply.as_numpy(RESULT)[0, 0]:
            raise MeasurementError("empty RESULT")

    async def send(self, payload: bytes) -> None:
        await self.infer(payload)

    async def close(self) -> None:
        await self._client.close()
