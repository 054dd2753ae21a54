"""The run journal in the output folder: what was submitted and what is finished, so a rerun with
the same arguments redoes nothing that is done.

One JSON object per line, appended and fsynced (``.anonymise-journal.jsonl``): ``submitted``
(the job id, written as soon as the gateway accepted the job) and ``done`` (the output written,
its size, what was found). A source counts as finished when its latest ``done`` has the same
source fingerprint and options fingerprint and the output (and its metadata file, when asked
for) is on disk with the recorded size. An unfinished source with a ``submitted`` job is fetched
from that job instead of being sent again. A line torn by a kill is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonymise.sources import Source

JOURNAL_NAME = ".anonymise-journal.jsonl"


def options_fingerprint(parameters: dict[str, Any]) -> str:
    """A short stable hash of the request options (format, blur, thresholds, priority...)."""
    text = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Finished:
    """A source's result on disk, from its ``done`` line; ``output`` is relative to the output folder."""

    job_id: str
    output: str
    bytes: int
    faces: int
    plates: int
    blurred: int
    metadata: bool


class Journal:
    """The journal of one output folder. Not thread-safe: one event loop appends."""

    def __init__(self, folder: Path, options: str) -> None:
        self.folder = folder
        self.path = folder / JOURNAL_NAME
        self.options = options
        self.torn_lines = 0
        self._ends_torn = False
        self._done: dict[str, Finished] = {}
        self._submitted: dict[str, str] = {}
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        self._ends_torn = bool(data) and not data.endswith(b"\n")
        for line in data.splitlines():
            try:
                self._remember(json.loads(line))
            except (ValueError, KeyError, TypeError):
                self.torn_lines += 1

    def _remember(self, entry: dict[str, Any]) -> None:
        identity = self._identity(entry["key"], entry["fingerprint"], entry["options"])
        if entry["event"] == "submitted":
            self._submitted[identity] = entry["job_id"]
        elif entry["event"] == "done":
            self._done[identity] = Finished(
                job_id=entry["job_id"], output=entry["output"], bytes=int(entry["bytes"]), faces=int(entry["faces"]),
                plates=int(entry["plates"]), blurred=int(entry["blurred"]), metadata=bool(entry["metadata"]),
            )
            self._submitted.pop(identity, None)

    @staticmethod
    def _identity(key: str, fingerprint: str, options: str) -> str:
        return f"{options}|{fingerprint}|{key}"

    def finished(self, source: Source, metadata: bool) -> Finished | None:
        """The source's result, if it is on disk complete (and its metadata file, when ``metadata``)."""
        done = self._done.get(self._identity(source.key, source.fingerprint, self.options))
        if done is None:
            return None
        output = self.folder / done.output
        try:
            if output.stat().st_size != done.bytes:
                return None
        except OSError:
            return None
        if metadata and not (done.metadata and metadata_path(output).is_file()):
            return None
        return done

    def submitted(self, source: Source) -> str | None:
        """The job id last accepted for this source with these options, while it has no result."""
        return self._submitted.get(self._identity(source.key, source.fingerprint, self.options))

    def record_submitted(self, source: Source, job_id: str) -> None:
        self._append({"event": "submitted", "job_id": job_id}, source)

    def record_done(self, source: Source, finished: Finished) -> None:
        self._append({"event": "done", **finished.__dict__}, source)

    def record_failed(self, source: Source, job_id: str | None, error: str, detail: str) -> None:
        """For the reader; a failed source is tried again by the next run."""
        self._append({"event": "failed", "job_id": job_id, "error": error, "detail": detail}, source)

    def _append(self, entry: dict[str, Any], source: Source) -> None:
        entry = {**entry, "key": source.key, "fingerprint": source.fingerprint, "options": self.options}
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, separators=(",", ":")).encode() + b"\n"
        with self.path.open("ab") as file:
            file.write(b"\n" + line if self._ends_torn else line)
            self._ends_torn = False
            file.flush()
            os.fsync(file.fileno())
        if entry["event"] in ("submitted", "done"):
            self._remember(entry)


def metadata_path(output: Path) -> Path:
    """Where ``--metadata`` saves a result's metadata: beside it, ``<name>.json``."""
    return output.with_name(output.name + ".json")
