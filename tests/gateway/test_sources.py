"""Paths confined to the allowed roots, buckets to the allow-list: everything else is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.core.errors import AccessDeniedError, SourceNotFoundError, UploadTooLargeError
from gateway.jobs.sources import ObjectAccess, S3Object


@pytest.fixture
def root(tmp_path: Path) -> Path:
    allowed = tmp_path / "photos"
    allowed.mkdir()
    (allowed / "in.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 100)
    (tmp_path / "secret.txt").write_text("secret")
    (allowed / "escape").symlink_to(tmp_path / "secret.txt")
    return allowed


@pytest.fixture
def access(root: Path) -> ObjectAccess:
    return ObjectAccess([root], ["photos-in"], s3_client=object())


def test_a_path_under_an_allowed_root_is_read(access: ObjectAccess, root: Path) -> None:
    target = access.resolve(str(root / "in.jpg"))
    assert asyncio.run(access.read(target, max_bytes=1000)).startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize("name", ["../secret.txt", "escape", "./../photos/../secret.txt"])
def test_traversal_and_symlink_escapes_are_refused(access: ObjectAccess, root: Path, name: str) -> None:
    with pytest.raises(AccessDeniedError, match="GATEWAY_ALLOWED_ROOTS"):
        access.resolve(f"{root}/{name}")


@pytest.mark.parametrize("reference", ["photos/in.jpg", "http://example.com/a.jpg", "/etc/passwd"])
def test_relative_paths_other_schemes_and_outside_paths_are_refused(access: ObjectAccess, reference: str) -> None:
    with pytest.raises(AccessDeniedError):
        access.resolve(reference)


def test_no_roots_means_no_local_paths(root: Path) -> None:
    with pytest.raises(AccessDeniedError, match="no allowed roots"):
        ObjectAccess([], [], None).resolve(str(root / "in.jpg"))


def test_buckets_outside_the_allow_list_are_refused(access: ObjectAccess) -> None:
    assert access.resolve("s3://photos-in/a/b.jpg") == S3Object("photos-in", "a/b.jpg")
    with pytest.raises(AccessDeniedError, match="GATEWAY_ALLOWED_BUCKETS"):
        access.resolve("s3://other-bucket/b.jpg")


def test_missing_and_oversize_files_are_named(access: ObjectAccess, root: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        asyncio.run(access.read(access.resolve(str(root / "nope.jpg")), max_bytes=1000))
    with pytest.raises(UploadTooLargeError, match="GATEWAY_MAX_UPLOAD_BYTES"):
        asyncio.run(access.read(access.resolve(str(root / "in.jpg")), max_bytes=10))
