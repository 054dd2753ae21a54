"""Markdown tables for the results file."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def times(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"
