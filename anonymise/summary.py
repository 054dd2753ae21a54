"""The end-of-run summary: counts, what was found, failures and throughput, as text or JSON."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from anonymise.run import Outcome
from anonymise.sources import Source


@dataclass
class Summary:
    """``files``: sources found; ``processed``: finished by this run; ``resumed``: by an earlier one;
    ``not_attempted``: left when the run stopped early; ``faces`` / ``plates`` / ``blurred``: totals
    over every finished file; ``seconds``: this run's wall time; ``files_per_second``: processed / seconds.
    """

    files: int = 0
    succeeded: int = 0
    processed: int = 0
    resumed: int = 0
    failed: int = 0
    not_attempted: int = 0
    ignored: int = 0
    faces: int = 0
    plates: int = 0
    blurred: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    files_per_second: float = 0.0
    interrupted: bool = False
    stopped: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, sources: Iterable[Source], outcomes: dict[str, Outcome], ignored: int, seconds: float,
           interrupted: bool = False, stopped: str | None = None) -> Summary:
        summary = cls(ignored=ignored, seconds=round(seconds, 3), interrupted=interrupted, stopped=stopped)
        for source in sources:
            summary.files += 1
            outcome = outcomes.get(source.key)
            if outcome is None:
                summary.not_attempted += 1
            elif outcome.status == "failed":
                summary.failed += 1
                summary.failures.append({"file": source.key, "error": outcome.error or "", "detail": outcome.detail or ""})
            else:
                summary.succeeded += 1
                summary.processed += outcome.status == "done"
                summary.resumed += outcome.status == "resumed"
                summary.faces += outcome.faces
                summary.plates += outcome.plates
                summary.blurred += outcome.blurred
                summary.bytes_written += outcome.bytes if outcome.status == "done" else 0
        summary.files_per_second = round(summary.processed / seconds, 3) if seconds > 0 else 0.0
        return summary

    @property
    def exit_code(self) -> int:
        """0 every file succeeded; 1 some failed or were not attempted; 130 interrupted (Ctrl-C, SIGTERM)."""
        if self.interrupted:
            return 130
        return 0 if self.succeeded == self.files else 1

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": self.exit_code}

    def text(self) -> str:
        lines = [
            f"{self.files} files: {self.succeeded} succeeded ({self.processed} processed, {self.resumed} already done),"
            f" {self.failed} failed" + (f", {self.not_attempted} not attempted" if self.not_attempted else "")
            + (f"; {self.ignored} folder entries ignored (not photos)" if self.ignored else ""),
            f"found {self.faces} faces, {self.plates} licence plates; {self.blurred} regions blurred",
            f"{self.processed} files in {self.seconds:.1f} s: {self.files_per_second:.2f} files/s",
        ]
        if self.interrupted:
            lines.append("interrupted: run the same command again to finish (finished files are not redone)")
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        lines.extend(f"failed: {failure['file']}: {failure['error']}: {failure['detail']}" for failure in self.failures)
        return "\n".join(lines)
