"""The measure both priority tests use: how many low-priority requests a later high-priority group overtook.

A backlog of low-priority requests is sent, then a few high-priority ones. Requests already
executing in one of the pipeline's steps can't be overtaken (each step runs batches of up to 16),
queued ones can. In FIFO order the high-priority ones would finish last and overtake none.
"""

from __future__ import annotations

from collections.abc import Iterable

BACKLOG = 80
MIN_OVERTAKEN = 20


def overtaken(low_finished: Iterable[float], high_finished: Iterable[float]) -> int:
    """Low-priority requests that finished after the last high-priority one."""
    last_high = max(high_finished)
    return sum(1 for at in low_finished if at > last_high)
