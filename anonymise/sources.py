"""What to send: the files named on the command line, the photos in folders, the objects under an
S3 prefix, each with the relative path its result takes under the output folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from anonymise.errors import UsageError

# The extensions a folder walk sends; a file named on the command line is sent whatever its name.
IMAGE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".png", ".jp2", ".jpf", ".jpx", ".j2k", ".j2c", ".jpc",
    ".webp", ".tif", ".tiff", ".bmp",
})


@dataclass(frozen=True)
class Source:
    """One photo to anonymise.

    ``key`` identifies it in the journal (an absolute local path, or ``s3://bucket/key``);
    ``relative`` is where its result lands under the output folder (before the extension is
    chosen); ``fingerprint`` changes when the photo does (size and mtime in ns, or the ETag).
    """

    key: str
    relative: PurePosixPath
    fingerprint: str
    size: int
    path: Path | None = None

    @property
    def is_s3(self) -> bool:
        return self.path is None


@dataclass
class Discovery:
    """The sources found, and the folder entries left out (no image extension, hidden, not a file)."""

    sources: list[Source] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class S3Entry:
    """An object of a bucket listing: its key, size in bytes and ETag."""

    key: str
    size: int
    etag: str


S3Lister = Callable[[str, str], list[S3Entry]]  # (bucket, prefix) -> the objects under it


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` -> (bucket, prefix); UsageError when there is no bucket."""
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise UsageError(f"{url}: an S3 source is s3://bucket/prefix")
    return bucket, prefix


def discover(arguments: Sequence[str], output: Path, list_s3: S3Lister | None = None) -> Discovery:
    """Every source named by ``arguments`` (files, folders, ``s3://`` prefixes), in a stable order.

    A folder's tree (or a prefix's keys) is mirrored into the output folder from its top, a file
    lands at the top of it. The output folder itself is never walked. Raises UsageError for a
    path that does not exist, an S3 prefix with nothing under it, or two sources that would land
    on the same relative path.
    """
    found = Discovery()
    skip = output.resolve()
    for argument in arguments:
        if argument.startswith("s3://"):
            if list_s3 is None:
                raise UsageError(f"{argument}: S3 sources need a bucket listing (boto3)")
            found.sources.extend(_s3_sources(argument, list_s3))
        else:
            _local_sources(Path(argument), skip, found)
    found.sources = _without_clashes(found.sources)
    return found


def _local_sources(path: Path, skip: Path, found: Discovery) -> None:
    try:
        status = path.stat()
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None
    if stat.S_ISDIR(status.st_mode):
        root = path.resolve()
        for file in _walk(root, skip, found.ignored):
            found.sources.append(_local_source(file, PurePosixPath(file.relative_to(root).as_posix())))
    elif stat.S_ISREG(status.st_mode):
        found.sources.append(_local_source(path.resolve(), PurePosixPath(path.name)))
    else:
        raise UsageError(f"{path}: not a file or folder")


def _walk(root: Path, skip: Path, ignored: list[str]) -> Iterable[Path]:
    """Regular image files under ``root``, sorted; hidden entries and symlinked folders are not entered."""
    for folder, folders, files in os.walk(root):
        here = Path(folder)
        folders[:] = sorted(name for name in folders if not name.startswith(".") and (here / name).resolve() != skip)
        for name in sorted(files):
            file = here / name
            if name.startswith(".") or file.suffix.lower() not in IMAGE_SUFFIXES or not file.is_file():
                ignored.append(str(file))
                continue
            yield file


def _local_source(path: Path, relative: PurePosixPath) -> Source:
    status = path.stat()
    return Source(
        key=str(path), relative=relative, fingerprint=f"{status.st_size}:{status.st_mtime_ns}", size=status.st_size, path=path,
    )


def _s3_sources(url: str, list_s3: S3Lister) -> list[Source]:
    """The objects under ``s3://bucket/prefix/`` (mirrored from the prefix), or the one object it names."""
    bucket, prefix = parse_s3_url(url)
    folder = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    entries = [entry for entry in list_s3(bucket, folder) if not entry.key.endswith("/")]
    if entries:
        return [_s3_source(bucket, entry, entry.key[len(folder):]) for entry in sorted(entries, key=lambda entry: entry.key)]
    single = [entry for entry in list_s3(bucket, prefix) if entry.key == prefix] if prefix else []
    if not single:
        raise UsageError(f"{url}: no objects under this prefix")
    return [_s3_source(bucket, single[0], PurePosixPath(prefix).name)]


def _s3_source(bucket: str, entry: S3Entry, relative: str) -> Source:
    return Source(
        key=f"s3://{bucket}/{entry.key}", relative=PurePosixPath(relative), fingerprint=f"{entry.size}:{entry.etag}",
        size=entry.size,
    )


def _without_clashes(sources: list[Source]) -> list[Source]:
    """``sources`` with repeats of one source dropped; two sources on one relative path are a UsageError."""
    seen: dict[PurePosixPath, str] = {}
    unique = []
    for source in sources:
        other = seen.get(source.relative)
        if other is None:
            seen[source.relative] = source.key
            unique.append(source)
        elif other != source.key:
            raise UsageError(f"{other} and {source.key} would both be written as {source.relative} in the output folder")
    return unique
