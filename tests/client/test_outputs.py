"""Output names (extension by format, clashes resolved) and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from anonymise.errors import UsageError
from anonymise.outputs import (
    format_of_content_type,
    format_of_suffix,
    output_name,
    plan_names,
    remove_partials,
    write_atomic,
)

P = PurePosixPath


def test_default_format_follows_the_input_family() -> None:
    assert [format_of_suffix(suffix) for suffix in (".JPEG", ".png", ".jpf", ".j2c", ".webp", ".tif", ".bmp", ".dat")] == [
        "jpeg", "png", "jp2", "j2k", "webp", "tiff", "png", "jpeg",
    ]
    assert format_of_content_type("image/j2c") == "j2k"
    assert format_of_content_type("image/png; charset=binary") == "png"
    assert format_of_content_type("application/zip") is None


def test_names_keep_the_extension_of_their_family_and_change_it_otherwise() -> None:
    names = plan_names([P("a/b.JPG"), P("scan.bmp"), P("c.tif"), P("d.j2k")], None)
    assert names == {P("a/b.JPG"): P("a/b.JPG"), P("scan.bmp"): P("scan.png"), P("c.tif"): P("c.tif"), P("d.j2k"): P("d.j2k")}
    assert plan_names([P("a/b.jpeg")], "webp") == {P("a/b.jpeg"): P("a/b.webp")}


def test_a_changed_extension_that_clashes_keeps_the_whole_name() -> None:
    names = plan_names([P("a.jpg"), P("a.png"), P("b.bmp"), P("b.tiff")], "png")
    assert names == {P("a.jpg"): P("a.jpg.png"), P("a.png"): P("a.png"), P("b.bmp"): P("b.bmp.png"), P("b.tiff"): P("b.tiff.png")}
    assert output_name(P("a.jpg"), "png", {P("a.png")}) == P("a.jpg.png")


def test_names_that_still_clash_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="would both be written as a.jpg.png"):
        plan_names([P("a.jpg"), P("a.png"), P("a.jpg.png")], "png")


def test_write_atomic_replaces_whole_and_leaves_no_temporary_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "a.jpg"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.listdir(target.parent) == ["a.jpg"]

    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]  # a failure inside the write itself
    assert os.listdir(target.parent) == ["a.jpg"] and target.read_bytes() == b"second"


def test_partials_of_a_killed_run_are_removed(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    leftover = tmp_path / "sub" / ".a.jpg.k3j2.anonymise-partial"
    leftover.write_bytes(b"half")
    (tmp_path / "sub" / "a.jpg").write_bytes(b"whole")
    assert remove_partials(tmp_path) == 1
    assert sorted(os.listdir(tmp_path / "sub")) == ["a.jpg"]
