"""The budget becomes a measurement window; bad options are refused with ConfigError."""

from __future__ import annotations

import pytest

from perf.config import MAX_INTERVAL_S, MIN_INTERVAL_S, BenchConfig, parse_levels
from perf.errors import ConfigError
from perf.inputs import parse_sizes


def test_a_larger_budget_gives_longer_windows_within_bounds() -> None:
    short, long = BenchConfig(budget_s=300), BenchConfig(budget_s=1200)
    assert MIN_INTERVAL_S <= short.measurement_interval_s() < long.measurement_interval_s() <= MAX_INTERVAL_S


def test_skipping_parts_leaves_more_time_for_each_window() -> None:
    full = BenchConfig(budget_s=600)
    lean = BenchConfig(budget_s=600, skip=frozenset({"models", "batching"}))
    assert lean.measurement_interval_s() > full.measurement_interval_s()


def test_an_explicit_interval_wins_over_the_budget() -> None:
    assert BenchConfig(budget_s=10, interval_s=2.5).measurement_interval_s() == 2.5


def test_a_tiny_budget_still_gets_the_minimum_window() -> None:
    assert BenchConfig(budget_s=1).measurement_interval_s() == MIN_INTERVAL_S


@pytest.mark.parametrize(
    "overrides",
    [
        {"concurrency": ()},
        {"concurrency": (0, 2)},
        {"model_concurrency": ()},
        {"skip": frozenset({"everything"})},
        {"compare_size": "4k", "sizes": ("vga",)},
        {"budget_s": 0},
    ],
)
def test_bad_settings_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        BenchConfig(**overrides)


def test_levels_are_parsed_sorted_and_unique() -> None:
    assert parse_levels("8, 1,2,8") == (1, 2, 8)
    with pytest.raises(ConfigError):
        parse_levels("one")
    with pytest.raises(ConfigError):
        parse_levels(" , ")


def test_sizes_are_known_names() -> None:
    assert parse_sizes("VGA,4k") == ("vga", "4k")
    with pytest.raises(ConfigError):
        parse_sizes("8k")
