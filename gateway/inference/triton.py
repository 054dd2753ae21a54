"""The one place that talks to Triton: the `pipeline` model over gRPC (asyncio client)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from contracts.metadata import Metadata
from contracts.tensors import IMAGE, METADATA, RESULT
from gateway.core.errors import (
    BusyError,
    InferenceError,
    InferenceTimeoutError,
    ModelCrashedError,
    TritonUnavailableError,
)
from gateway.inference.recovery import CrashGate, crashed
from imaging.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageError,
    ImageTooLargeError,
    InvalidOptionError,
    UnsupportedFormatError,
)
from triton_launcher.status import failure_kind

logger = logging.getLogger(__name__)

# Error codes the models put at the front of their messages, back to the imaging exceptions.
IMAGE_ERRORS: dict[str, type[ImageError]] = {
    cls.code: cls
    for cls in (EmptyImageError, CorruptImageError, UnsupportedFormatError, ImageTooLargeError, InvalidOptionError)
}
_CODE = re.compile(r"\b(" + "|".join(IMAGE_ERRORS) + r"):\s*")

Parameters = Mapping[str, str | int | float | bool]


@dataclass(frozen=True)
class Processed:
    """One processed photo: the encoded result and the model's METADATA (the contract's types)."""

    result: bytes
    metadata: Metadata
    outputs: tuple[bytes, ...] = ()  # every output image when the model made several (tiles)

    @property
    def results(self) -> tuple[bytes, ...]:
        """Every output image, in the order the metadata lists them."""
        return self.outputs or (self.result,)

    @property
    def content_type(self) -> str:
        output = self.metadata.get("output")
        return output.get("content_type", "application/octet-stream") if output else "application/octet-stream"

    @property
    def format(self) -> str:
        output = self.metadata.get("output")
        return output.get("format", "bin") if output else "bin"


def _processed(row: np.ndarray, metadata: Metadata) -> Processed:
    output = metadata.get("output")
    count = int(output.get("count", 1)) if output else 1
    outputs = tuple(bytes(item) for item in row[:count])
    return Processed(outputs[0], metadata, outputs if count > 1 else ())


def translate(error: InferenceServerException) -> Exception:
    """tritonclient's exception as an image error (the caller's fault) or a gateway error."""
    message = str(error.message() or error)
    found = _CODE.search(message)
    if found:
        return IMAGE_ERRORS[found.group(1)](message[found.end() :].strip() or message)
    if "Exceeds maximum queue size" in message:
        return BusyError(f"Triton's queue is full: {message}")
    dead_stub = crashed(message)
    if dead_stub is not None:
        return dead_stub
    kind = failure_kind(error)
    if kind == "deadline":
        return InferenceTimeoutError(f"no answer within the deadline (GATEWAY_TRITON_TIMEOUT_S): {message}")
    if kind == "unreachable":
        return TritonUnavailableError(f"Triton is unavailable: {message}")
    return InferenceError(f"Triton refused the request: {message}")


class TritonPipeline:
    """Sends encoded photos to the pipeline model and reads back result bytes and metadata."""

    def __init__(self, url: str, model_name: str, model_version: str = "", timeout_s: float = 120.0) -> None:
        self.url = url
        self.model_name = model_name
        self.model_version = model_version
        self.timeout_s = timeout_s
        self.crashes = CrashGate()
        self._client = grpcclient.InferenceServerClient(url)

    async def process(
        self, payloads: Sequence[bytes], parameters: Parameters, priority: int, model_name: str | None = None,
        *, wait_healed: bool = True,
    ) -> list[Processed]:
        """Run the model (``model_name``, else the configured one) on ``payloads`` in one request.

        Raises ImageError or GatewayError. A model whose RESULT holds several items per image
        (`process` with tiles: [N, K], padded) gives each Processed all its outputs. While the
        model is being reloaded after a stub crash the call first waits (``wait_healed``, see
        CrashGate); a request that meets a dead stub raises ModelCrashedError.
        """
        called = model_name or self.model_name
        if wait_healed:
            await self.crashes.wait(called)
        array = np.empty((len(payloads), 1), dtype=np.object_)
        array[:, 0] = list(payloads)
        tensor = grpcclient.InferInput(IMAGE, list(array.shape), "BYTES")
        tensor.set_data_from_numpy(array)
        outputs = [grpcclient.InferRequestedOutput(RESULT), grpcclient.InferRequestedOutput(METADATA)]
        try:
            reply = await self._client.infer(
                called,
                [tensor],
                model_version=self.model_version,
                outputs=outputs,
                priority=priority,
                parameters=dict(parameters) or None,
                client_timeout=self.timeout_s,
            )
        except InferenceServerException as error:
            failure = translate(error)
            if isinstance(failure, ModelCrashedError):
                self.crashes.crashed(called, failure)
            raise failure from None
        results = reply.as_numpy(RESULT).reshape(len(payloads), -1)
        metadata = [cast(Metadata, json.loads(meta)) for meta in reply.as_numpy(METADATA).reshape(-1)]
        return [_processed(row, meta) for row, meta in zip(results, metadata, strict=True)]

    async def is_ready(self, timeout_s: float | None = None) -> bool:
        """Server live and ready, and the model loaded (False after ``timeout_s`` without an answer)."""
        try:
            if timeout_s is not None:
                return await asyncio.wait_for(self.is_ready(), timeout_s)
            return bool(await self._client.is_server_ready()) and bool(
                await self._client.is_model_ready(self.model_name, self.model_version)
            )
        except (InferenceServerException, asyncio.TimeoutError):
            return False

    async def readiness(self, timeout_s: float) -> str | None:
        """None when the server and the model are ready within ``timeout_s`` (gRPC ServerReady and
        ModelReady: Triton's /v2/health/ready and /v2/models/<model>/ready); else why not."""
        return await self._asked(self._readiness(), timeout_s)

    async def liveness(self, timeout_s: float) -> str | None:
        """None when the server answers that it is live within ``timeout_s``; else why not.

        Not readiness: Triton's strict readiness is false while any model loads (a swap)."""
        return await self._asked(self._liveness(), timeout_s)

    async def _asked(self, question: Awaitable[str | None], timeout_s: float) -> str | None:
        try:
            return await asyncio.wait_for(question, timeout_s)
        except asyncio.TimeoutError:
            return f"Triton at {self.url} did not answer within {timeout_s:g} s"
        except InferenceServerException as error:
            return f"Triton at {self.url} is unavailable: {error.message() or error}"

    async def _readiness(self) -> str | None:
        if not await self._client.is_server_ready():
            return f"Triton at {self.url} is not ready"
        if not await self._client.is_model_ready(self.model_name, self.model_version):
            return f"model {self.model_name!r} at {self.url} is not ready"
        return None

    async def _liveness(self) -> str | None:
        return None if await self._client.is_server_live() else f"Triton at {self.url} is not live"

    async def reconnect(self) -> None:
        """A fresh gRPC channel: one that saw its server die backs off reconnecting (up to minutes)."""
        old, self._client = self._client, grpcclient.InferenceServerClient(self.url)
        await old.close()

    async def model_statistics(self) -> list[dict[str, Any]]:
        """Per-model counters from Triton's statistics API (every loaded model)."""
        try:
            reply = await self._client.get_inference_statistics(as_json=True)
        except InferenceServerException as error:
            raise translate(error) from None
        return list(reply.get("model_stats", []))

    async def close(self) -> None:
        await self._client.close()

