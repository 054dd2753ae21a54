"""Which files a run sends and where their results land: folders mirrored, S3 prefixes, clashes."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from anonymise.errors import UsageError
from anonymise.sources import S3Entry, discover


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_folder_tree_is_mirrored_and_non_photos_are_counted_not_sent(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for name in ("a.jpg", "sub/b.PNG", "sub/deeper/c.jp2", "d.tiff", "notes.txt", ".hidden.jpg", ".cache/e.jpg"):
        touch(photos / name)
    found = discover([str(photos)], tmp_path / "out")
    assert [source.relative for source in found.sources] == [
        PurePosixPath("a.jpg"), PurePosixPath("d.tiff"), PurePosixPath("sub/b.PNG"), PurePosixPath("sub/deeper/c.jp2"),
    ]
    assert sorted(Path(entry).name for entry in found.ignored) == [".hidden.jpg", "notes.txt"]
    assert all(source.path is not None and source.path.is_absolute() for source in found.sources)
    assert found.sources[0].key == str((photos / "a.jpg").resolve())


def test_the_output_folder_inside_the_input_is_not_walked(tmp_path: Path) -> None:
    touch(tmp_path / "a.jpg")
    touch(tmp_path / "out" / "a.jpg")
    found = discover([str(tmp_path)], tmp_path / "out")
    assert [source.relative for source in found.sources] == [PurePosixPath("a.jpg")]


def test_a_named_file_is_sent_whatever_its_extension_and_lands_at_the_top(tmp_path: Path) -> None:
    photo = touch(tmp_path / "deep" / "scan.dat")
    found = discover([str(photo)], tmp_path / "out")
    assert [source.relative for source in found.sources] == [PurePosixPath("scan.dat")]


def test_fingerprint_changes_with_the_file(tmp_path: Path) -> None:
    photo = touch(tmp_path / "a.jpg", b"one")
    before = discover([str(photo)], tmp_path / "out").sources[0].fingerprint
    touch(photo, b"other bytes")
    assert discover([str(photo)], tmp_path / "out").sources[0].fingerprint != before


def test_two_sources_on_one_output_path_are_a_usage_error_and_repeats_count_once(tmp_path: Path) -> None:
    first, second = touch(tmp_path / "x" / "a.jpg"), touch(tmp_path / "y" / "a.jpg")
    with pytest.raises(UsageError, match="would both be written as a.jpg"):
        discover([str(first), str(second)], tmp_path / "out")
    assert len(discover([str(first), str(first), str(tmp_path / "x")], tmp_path / "out").sources) == 1


def test_a_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file"):
        discover([str(tmp_path / "nothing")], tmp_path / "out")


LISTING = {
    ("photos", "2024/"): [S3Entry("2024/a.jpg", 10, "e1"), S3Entry("2024/trip/b.png", 20, "e2"), S3Entry("2024/dir/", 0, "")],
    ("photos", "2024/a.jpg/"): [],
    ("photos", "2024/a.jpg"): [S3Entry("2024/a.jpg", 10, "e1"), S3Entry("2024/a.jpg.bak", 1, "e3")],
    ("photos", "empty/"): [],
    ("photos", "empty"): [],
}


def listing(bucket: str, prefix: str) -> list[S3Entry]:
    return LISTING[(bucket, prefix)]


@pytest.mark.parametrize("url", ["s3://photos/2024", "s3://photos/2024/"])
def test_an_s3_prefix_is_mirrored_like_a_folder(tmp_path: Path, url: str) -> None:
    found = discover([url], tmp_path / "out", listing)
    assert [(source.key, source.relative, source.fingerprint) for source in found.sources] == [
        ("s3://photos/2024/a.jpg", PurePosixPath("a.jpg"), "10:e1"),
        ("s3://photos/2024/trip/b.png", PurePosixPath("trip/b.png"), "20:e2"),
    ]
    assert all(source.is_s3 for source in found.sources)


def test_an_s3_object_named_alone_lands_at_the_top_and_an_empty_prefix_is_a_usage_error(tmp_path: Path) -> None:
    [single] = discover(["s3://photos/2024/a.jpg"], tmp_path / "out", listing).sources
    assert (single.key, single.relative) == ("s3://photos/2024/a.jpg", PurePosixPath("a.jpg"))
    with pytest.raises(UsageError, match="no objects"):
        discover(["s3://photos/empty"], tmp_path / "out", listing)
    with pytest.raises(UsageError, match="s3://bucket/prefix"):
        discover(["s3:///key"], tmp_path / "out", listing)
