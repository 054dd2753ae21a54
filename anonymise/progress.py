"""The progress bar (rich, on stderr, only on a terminal) and a line per failure as it happens."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from anonymise.run import Outcome


class Display:
    """A context manager showing ``total`` files' progress; ``update`` takes each outcome."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self.live = enabled and self.console.is_terminal
        self.failed = 0
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, disable=not self.live,
        )
        self.task = self.progress.add_task("anonymising", total=total, failed=0)

    def __enter__(self) -> Display:
        self.progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.progress.stop()

    def update(self, outcome: Outcome) -> None:
        """Advance the bar; on a terminal, print a failure above it at once (the summary lists them all)."""
        if outcome.status == "failed":
            self.failed += 1
            if self.live:
                self.progress.console.print(f"failed: {outcome.source.key}: {outcome.error}: {outcome.detail}", markup=False)
        self.progress.update(self.task, advance=1, failed=self.failed)
