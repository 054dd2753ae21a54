"""The systems compared on the recall suite, each run over one folder of images.

- deface (``perf.peer``): its CLI once over the folder, writing ``<name>_anonymized.<ext>``;
- this product: every file sent to Triton's ``pipeline`` over gRPC with ``concurrency`` requests
  in flight (asyncio tritonclient), default parameters (the output keeps the input's format), or
  a variant's request parameters (e.g. ``thorough=true``).

Both answer ``{file name: encoded output or None}`` and the wall time of the whole folder.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tritonclient.grpc.aio as grpcclient

from contracts.tensors import IMAGE, METADATA, RESULT
from perf.errors import MeasurementError
from perf.peer import Peer, output_path

logger = logging.getLogger(__name__)

PIPELINE = "pipeline"
PIPELINE_LABEL = "pipeline (Triton gRPC)"


@dataclass
class FolderRun:
    """One system over one folder: outputs by input file name (None: no answer), wall seconds, errors."""

    outputs: dict[str, bytes | None]
    wall_s: float
    errors: list[str]


def run_peer(peer: Peer, folder: Path, files: Sequence[Path]) -> FolderRun:
    """deface over ``folder`` (which holds exactly ``files``); outputs read back from its files."""
    wall_s = peer.anonymise_folder(folder)
    outputs: dict[str, bytes | None] = {}
    errors = []
    for path in files:
        written = output_path(path)
        outputs[path.name] = written.read_bytes() if written.exists() else None
        if outputs[path.name] is None:
            errors.append(f"{path.name}: deface wrote no {written.name}")
    if files and not any(outputs.values()):
        raise MeasurementError(f"{peer.label} wrote no output for any of {len(files)} images in {folder}")
    return FolderRun(outputs, wall_s, errors)


Parameters = dict[str, bool | int | str]


@dataclass(frozen=True)
class Variant:
    """``pipeline`` with request parameters, measured as one more system: ``--variant thorough:thorough=true``."""

    name: str
    parameters: Parameters

    @property
    def label(self) -> str:
        return f"{PIPELINE} {self.name} ({', '.join(f'{key}={value}' for key, value in self.parameters.items())})"

    @classmethod
    def parse(cls, raw: str) -> Variant:
        """'NAME:key=value,key=value'; true/false become booleans, whole numbers integers. Raises ValueError."""
        name, _, settings = raw.partition(":")
        pairs = [item.split("=", 1) for item in settings.split(",") if item.strip()]
        if not name.strip() or not pairs or any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
            raise ValueError(f"a variant is NAME:key=value[,key=value], got {raw!r}")
        return cls(name.strip(), {key.strip(): _typed(value.strip()) for key, value in pairs})


def _typed(value: str) -> bool | int | str:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    return int(value) if value.lstrip("-").isdigit() else value


async def _infer(client: grpcclient.InferenceServerClient, payload: bytes, timeout_s: float,
                 parameters: Parameters | None = None) -> tuple[bytes, dict]:
    array = np.empty((1, 1), dtype=np.object_)
    array[0, 0] = payload
    image = grpcclient.InferInput(IMAGE, [1, 1], "BYTES")
    image.set_data_from_numpy(array)
    outputs = [grpcclient.InferRequestedOutput(RESULT), grpcclient.InferRequestedOutput(METADATA)]
    reply = await client.infer(PIPELINE, [image], outputs=outputs, client_timeout=timeout_s, parameters=parameters or None)
    return reply.as_numpy(RESULT)[0, 0], json.loads(reply.as_numpy(METADATA)[0, 0])


async def _run_pipeline(url: str, files: Sequence[Path], concurrency: int, timeout_s: float,
                        parameters: Parameters | None) -> FolderRun:
    payloads = [path.read_bytes() for path in files]  # read before the clock starts, as deface's reads are its own
    outputs: dict[str, bytes | None] = {path.name: None for path in files}
    errors: list[str] = []
    pending = list(range(len(files)))
    client = grpcclient.InferenceServerClient(url)

    async def worker() -> None:
        while pending:
            index = pending.pop(0)
            try:
                outputs[files[index].name], _ = await _infer(client, payloads[index], timeout_s, parameters)
            except Exception as error:  # noqa: BLE001 - a failed image is recorded, counts as not anonymised
                errors.append(f"{files[index].name}: {type(error).__name__}: {str(error)[:200]}")

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(files)))))
        wall_s = time.perf_counter() - started
    finally:
        await client.close()
    if files and not any(outputs.values()):
        raise MeasurementError(f"pipeline answered none of {len(files)} images: {errors[0]}")
    return FolderRun(outputs, wall_s, errors)


def run_pipeline(url: str, files: Sequence[Path], concurrency: int, parameters: Parameters | None = None,
                 timeout_s: float = 600.0) -> FolderRun:
    """Every file through ``pipeline`` (with request ``parameters``) at ``concurrency`` requests in flight;
    wall time from first send to last answer. Raises MeasurementError when no file got an answer."""
    return asyncio.run(_run_pipeline(url, files, concurrency, timeout_s, parameters))


def pipeline_metadata(url: str, payload: bytes) -> dict:
    """One request's METADATA (also the warm-up before timing). Raises MeasurementError when it fails."""

    async def once() -> dict:
        client = grpcclient.InferenceServerClient(url)
        try:
            return (await _infer(client, payload, 600.0))[1]
        finally:
            await client.close()

    try:
        return asyncio.run(once())
    except Exception as error:  # noqa: BLE001 - any failure here means there is no pipeline to measure
        raise MeasurementError(f"{PIPELINE} at {url} did not answer: {type(error).__name__}: {str(error)[:300]}") from error
