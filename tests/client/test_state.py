"""The run journal: what counts as finished, submitted jobs picked up, torn lines from a kill."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from anonymise.sources import Source
from anonymise.state import JOURNAL_NAME, Finished, Journal, metadata_path, options_fingerprint

OPTIONS = options_fingerprint({"format": None, "options": {"blur_kind": "pixelate"}, "priority": None})


def source(name: str = "a.jpg", fingerprint: str = "10:1") -> Source:
    return Source(key=f"/photos/{name}", relative=PurePosixPath(name), fingerprint=fingerprint, size=10)


def finish(journal: Journal, out: Path, name: str = "a.jpg", data: bytes = b"result", metadata: bool = False) -> Finished:
    (out / name).write_bytes(data)
    if metadata:
        metadata_path(out / name).write_text("{}")
    done = Finished("job-1", name, len(data), faces=2, plates=1, blurred=3, metadata=metadata)
    journal.record_done(source(name), done)
    return done


def test_a_finished_source_is_known_to_the_next_run(tmp_path: Path) -> None:
    done = finish(Journal(tmp_path, OPTIONS), tmp_path)
    assert Journal(tmp_path, OPTIONS).finished(source(), metadata=False) == done


def test_other_options_or_a_changed_source_are_not_finished(tmp_path: Path) -> None:
    finish(Journal(tmp_path, OPTIONS), tmp_path)
    other = options_fingerprint({"format": "png", "options": {"blur_kind": "pixelate"}, "priority": None})
    assert Journal(tmp_path, other).finished(source(), metadata=False) is None
    assert Journal(tmp_path, OPTIONS).finished(source(fingerprint="11:2"), metadata=False) is None


def test_a_missing_or_different_output_is_not_finished(tmp_path: Path) -> None:
    finish(Journal(tmp_path, OPTIONS), tmp_path)
    (tmp_path / "a.jpg").write_bytes(b"resul")  # not the recorded size
    assert Journal(tmp_path, OPTIONS).finished(source(), metadata=False) is None
    (tmp_path / "a.jpg").unlink()
    assert Journal(tmp_path, OPTIONS).finished(source(), metadata=False) is None


def test_asking_for_metadata_later_needs_the_metadata_file(tmp_path: Path) -> None:
    finish(Journal(tmp_path, OPTIONS), tmp_path)
    assert Journal(tmp_path, OPTIONS).finished(source(), metadata=True) is None
    finish(Journal(tmp_path, OPTIONS), tmp_path, metadata=True)
    assert Journal(tmp_path, OPTIONS).finished(source(), metadata=True) is not None


def test_a_submitted_job_is_remembered_until_done(tmp_path: Path) -> None:
    journal = Journal(tmp_path, OPTIONS)
    journal.record_submitted(source(), "job-1")
    assert Journal(tmp_path, OPTIONS).submitted(source()) == "job-1"
    finish(journal, tmp_path)
    assert Journal(tmp_path, OPTIONS).submitted(source()) is None


def test_a_failure_is_tried_again(tmp_path: Path) -> None:
    journal = Journal(tmp_path, OPTIONS)
    journal.record_submitted(source(), "job-1")
    journal.record_failed(source(), "job-1", "corrupt_image", "truncated")
    again = Journal(tmp_path, OPTIONS)
    assert again.finished(source(), metadata=False) is None
    assert again.submitted(source()) == "job-1"  # the runner asks the gateway: a failed job is sent again


def test_a_line_torn_by_a_kill_is_skipped_and_the_next_append_starts_a_new_line(tmp_path: Path) -> None:
    finish(Journal(tmp_path, OPTIONS), tmp_path, "a.jpg")
    with (tmp_path / JOURNAL_NAME).open("ab") as file:
        file.write(b'{"event": "done", "job_id": "jo')
    journal = Journal(tmp_path, OPTIONS)
    assert journal.torn_lines == 1
    finish(journal, tmp_path, "b.jpg")
    again = Journal(tmp_path, OPTIONS)
    assert again.torn_lines == 1
    assert again.finished(source("a.jpg"), metadata=False) and again.finished(source("b.jpg"), metadata=False)
