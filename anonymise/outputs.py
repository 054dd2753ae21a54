"""Where each result is written under the output folder, and how (atomically: temp file + rename).

A result keeps its source's relative path and extension when the output format is the input's
family (``a/b.JPG`` -> ``a/b.JPG``); otherwise the extension becomes the format's
(``scan.bmp`` -> ``scan.png``). When two sources of one folder would then share a name
(``a.jpg`` and ``a.png`` with ``--format png``), the one whose extension changes keeps its whole
name: ``a.jpg.png``.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import Path, PurePosixPath

from anonymise.errors import UsageError

# Output format -> (the extension given to results, the extensions that already name it).
FORMATS: dict[str, tuple[str, frozenset[str]]] = {
    "jpeg": (".jpg", frozenset({".jpg", ".jpeg", ".jpe"})),
    "png": (".png", frozenset({".png"})),
    "jp2": (".jp2", frozenset({".jp2", ".jpf", ".jpx"})),
    "j2k": (".j2k", frozenset({".j2k", ".j2c", ".jpc"})),
    "webp": (".webp", frozenset({".webp"})),
    "tiff": (".tiff", frozenset({".tif", ".tiff"})),
}
# The gateway's Content-Type of each output format (imaging.formats.CONTENT_TYPES).
CONTENT_TYPES: dict[str, str] = {
    "image/jpeg": "jpeg", "image/png": "png", "image/jp2": "jp2", "image/j2c": "j2k", "image/webp": "webp",
    "image/tiff": "tiff",
}
PARTIAL_SUFFIX = ".anonymise-partial"


def format_of_suffix(suffix: str) -> str:
    """The output format the gateway picks by default for an input with this extension.

    The input's family; BMP (which it does not write) becomes PNG, an unknown extension JPEG.
    """
    suffix = suffix.lower()
    if suffix == ".bmp":
        return "png"
    return next((name for name, (_, suffixes) in FORMATS.items() if suffix in suffixes), "jpeg")


def format_of_content_type(content_type: str) -> str | None:
    """``image/png; charset=...`` -> ``png``; None for anything that is not an output format."""
    return CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())


def output_name(relative: PurePosixPath, output_format: str, taken: Collection[PurePosixPath] = ()) -> PurePosixPath:
    """The relative path of ``relative``'s result in ``output_format``.

    ``taken``: names other sources' results claim; a changed extension that lands on one of them
    keeps the whole source name (``a.jpg`` -> ``a.jpg.png``).
    """
    extension, suffixes = FORMATS[output_format]
    if relative.suffix.lower() in suffixes:
        return relative
    renamed = relative.with_suffix(extension)
    if renamed in taken:
        return relative.with_name(relative.name + extension)
    return renamed


def plan_names(relatives: Iterable[PurePosixPath], requested_format: str | None) -> dict[PurePosixPath, PurePosixPath]:
    """Each source's output name, given ``--format`` (None: each input's own family).

    Sources that keep their name claim it first; a changed extension that lands on a claimed
    name, or on another changed one, keeps the whole source name. Raises UsageError if two
    names still clash.
    """
    formats = {relative: requested_format or format_of_suffix(relative.suffix) for relative in relatives}
    kept = {relative for relative, name in formats.items() if relative.suffix.lower() in FORMATS[name][1]}
    renamed = Counter(relative.with_suffix(FORMATS[name][0]) for relative, name in formats.items() if relative not in kept)
    taken = kept | {name for name, count in renamed.items() if count > 1}
    names: dict[PurePosixPath, PurePosixPath] = {}
    owners: dict[PurePosixPath, PurePosixPath] = {}
    for relative, output_format in formats.items():
        name = output_name(relative, output_format, taken)
        if name in owners:
            raise UsageError(f"{owners[name]} and {relative} would both be written as {name}")
        owners[name] = relative
        names[relative] = name
    return names


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, its old content or all of ``data``.

    The bytes go to a temporary file beside it (ending ``.anonymise-partial``), are fsynced and
    renamed over ``path``; the temporary file is removed if anything fails or is interrupted.
    Raises OSError.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_partials(folder: Path) -> int:
    """Delete the temporary files a killed run left under ``folder``; answers how many."""
    removed = 0
    if folder.is_dir():
        for partial in folder.rglob(f".*{PARTIAL_SUFFIX}"):
            partial.unlink(missing_ok=True)
            removed += 1
    return removed
