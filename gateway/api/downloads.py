"""Download names of results: ``Content-Disposition`` per RFC 6266 with an RFC 5987 UTF-8 name."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from gateway.jobs.models import Job, StoredObject

ATTR_CHARS = "!#$&+^`|"  # RFC 5987 attr-char beyond what quote() keeps (letters, digits, "_.-~")
_LAST_SEGMENT = re.compile(r"[^/\\]*$")
NAME_MAX_BYTES = 255  # the longest file name most file systems take (UTF-8 bytes)


def download_name(job: Job, result: StoredObject) -> str:
    """``<original stem>.<result extension>``: the uploaded file's name, else the referenced path's or
    object's, else the job id; ``photo.jpeg`` processed to PNG downloads as ``photo.png``. The stem
    is cut so that the name fits 255 UTF-8 bytes, so that a client can save it as it is."""
    extension = result.key.rsplit("/", 1)[-1].rpartition(".")[2] or "bin"
    original = job.filename or (job.source if job.source != "upload" else "")
    name = _LAST_SEGMENT.search(original or "")
    stem = (name[0] if name else "").rpartition(".")
    kept = (stem[0] or stem[2]).strip()
    budget = NAME_MAX_BYTES - len(extension.encode()) - 1
    while len(kept.encode()) > budget:  # cut between characters, never inside one
        kept = kept[:-1]
    return f"{kept.strip() or job.job_id}.{extension}"


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>``.

    Control characters (CR, LF...) are dropped from both forms, so a crafted name cannot add a
    header; the fallback replaces what is not printable ASCII, quotes and backslashes with ``_``
    (accents are stripped first: ``é`` -> ``e``).
    """
    cleaned = "".join(char for char in filename if char.isprintable())
    return f"{disposition}; filename=\"{ascii_fallback(cleaned)}\"; filename*=UTF-8''{quote(cleaned, safe=ATTR_CHARS)}"


def ascii_fallback(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    kept = (
        char if char.isascii() and char.isprintable() and char not in '"\\' else "_"
        for char in decomposed if not unicodedata.combining(char)
    )
    return "".join(kept)
