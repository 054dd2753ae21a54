"""One run: each source sent as a job (or picked up from the journal), its result written into the
output folder, ``concurrency`` at a time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from anonymise.client import GatewayClient, Submission
from anonymise.errors import GatewayError
from anonymise.outputs import FORMATS, format_of_content_type, output_name, write_atomic
from anonymise.sources import Source
from anonymise.state import Finished, Journal, metadata_path


@dataclass
class Outcome:
    """What became of one source: ``done`` (this run), ``resumed`` (finished by an earlier run) or ``failed``.

    ``error`` / ``detail`` are the gateway's error code and text (or the client's, e.g.
    ``source_unreadable``); ``output`` is relative to the output folder.
    """

    source: Source
    status: str
    job_id: str | None = None
    output: str | None = None
    bytes: int = 0
    faces: int = 0
    plates: int = 0
    blurred: int = 0
    error: str | None = None
    detail: str | None = None


def finished_outcome(source: Source, status: str, finished: Finished) -> Outcome:
    """The ``done`` or ``resumed`` outcome of a source whose result was written (``finished``)."""
    return Outcome(source, status, finished.job_id, finished.output, finished.bytes, finished.faces, finished.plates,
                   finished.blurred)


@dataclass(frozen=True)
class RunSettings:
    """``names``: each source's planned output name (see :func:`anonymise.outputs.plan_names`)."""

    output: Path
    submission: Submission
    names: dict[PurePosixPath, PurePosixPath]
    concurrency: int = 4
    metadata: bool = False


def counts(metadata: dict[str, Any]) -> tuple[int, int, int]:
    """(faces, licence plates, blurred regions) of a result's METADATA."""
    plates = sum(1 for row in metadata.get("detections", []) if row.get("class_name") == "license_plate")
    return len(metadata.get("faces", [])), plates, len(metadata.get("blurred", []))


class Runner:
    """Runs the sources; ``outcomes`` fills as they end, so an interrupted run still reports them."""

    def __init__(self, client: GatewayClient, journal: Journal, settings: RunSettings,
                 on_outcome: Callable[[Outcome], None] = lambda outcome: None) -> None:
        self.client = client
        self.journal = journal
        self.settings = settings
        self.on_outcome = on_outcome
        self.outcomes: dict[str, Outcome] = {}

    def resume(self, sources: list[Source]) -> list[Source]:
        """Record sources an earlier run finished as ``resumed``; answers the rest."""
        pending = []
        for source in sources:
            finished = self.journal.finished(source, self.settings.metadata)
            if finished is None:
                pending.append(source)
            else:
                self._end(finished_outcome(source, "resumed", finished))
        return pending

    async def run(self, sources: list[Source]) -> None:
        """Process ``sources``; a GatewayUnreachable or UsageError stops every worker and propagates."""
        queue = list(reversed(sources))

        async def worker() -> None:
            while queue:
                self._end(await self.one(queue.pop()))

        tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(self.settings.concurrency, len(sources))))]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _end(self, outcome: Outcome) -> None:
        self.outcomes[outcome.source.key] = outcome
        self.on_outcome(outcome)

    async def one(self, source: Source) -> Outcome:
        """Send (or pick up) one source's job and write its result; a refusal is a ``failed`` outcome."""
        job_id = None
        try:
            job_id = await self._adopted(source) or await self._submit(source)
            record = await self.client.finished_job(job_id)
            if record["status"] == "failed":
                error = record.get("error") or {}
                raise GatewayError(str(error.get("error", "job_failed")), str(error.get("detail", "")))
            data, content_type = await self.client.result(job_id)
            finished = self._write(source, job_id, data, content_type, record.get("metadata") or {})
        except GatewayError as error:
            self.journal.record_failed(source, job_id, error.code, error.detail)
            return Outcome(source, "failed", job_id, error=error.code, detail=error.detail)
        except OSError as error:
            code = "output_unwritable" if job_id else "source_unreadable"
            self.journal.record_failed(source, job_id, code, str(error))
            return Outcome(source, "failed", job_id, error=code, detail=str(error))
        self.journal.record_done(source, finished)
        return finished_outcome(source, "done", finished)

    async def _adopted(self, source: Source) -> str | None:
        """The job an interrupted run submitted for this source, if the gateway still has it and it did not fail."""
        job_id = self.journal.submitted(source)
        if job_id is None:
            return None
        try:
            record = await self.client.job(job_id)
        except GatewayError as error:
            if error.status == 404:
                return None
            raise
        return None if record["status"] == "failed" else job_id

    async def _submit(self, source: Source) -> str:
        submission = self.settings.submission
        if source.path is None:
            job_id = await self.client.submit_reference(source.key, submission)
        else:
            data = await asyncio.to_thread(source.path.read_bytes)
            job_id = await self.client.submit_upload(data, source.path.name, submission)
        self.journal.record_submitted(source, job_id)
        return job_id

    def _write(self, source: Source, job_id: str, data: bytes, content_type: str, metadata: dict[str, Any]) -> Finished:
        """Result (and metadata file) into the output folder atomically; the name follows the actual format."""
        output_format = format_of_content_type(content_type)
        if output_format is None:
            raise GatewayError("unexpected_result", f"the result is {content_type or 'untyped'}, not an image format")
        name = self._name(source.relative, output_format)
        path = self.settings.output / name
        if self.settings.metadata:
            write_atomic(metadata_path(path), json.dumps(metadata, indent=2).encode())
        write_atomic(path, data)
        faces, plates, blurred = counts(metadata)
        return Finished(job_id, name.as_posix(), len(data), faces, plates, blurred, self.settings.metadata)

    def _name(self, relative: PurePosixPath, output_format: str) -> PurePosixPath:
        planned = self.settings.names[relative]
        if planned.suffix.lower() in FORMATS[output_format][1]:
            return planned
        taken = set(self.settings.names.values()) - {planned}
        return output_name(relative, output_format, taken)
