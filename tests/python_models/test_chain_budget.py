"""Pixel budgets of an operation chain: refused from the planned sizes, before any pixel is made."""

from __future__ import annotations

import asyncio
import tracemalloc

import numpy as np
import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from imaging.errors import ImageTooLargeError
from python_models.chain import check_budget, run_steps
from python_models.model_config import config_parameter
from python_models.operation_specs import PixelBudget, parse_operations
from python_models.options import BlurOptions
from tests.conftest import REPOSITORY


def steps(*items: dict) -> list:
    return parse_operations(list(items), 64)


async def no_regions(images: list[np.ndarray], options: BlurOptions) -> list:
    raise AssertionError("no detection is expected")


def test_a_resize_beyond_the_step_limit_is_refused_before_any_pixel_is_made() -> None:
    tiny = np.zeros((21, 21, 3), dtype=np.uint8)  # the 444-byte upload asked for 400 MP
    tracemalloc.start()
    with pytest.raises(ImageTooLargeError, match=r"step 1 \(resize\).*20000x20000 image = 400000000 pixels.*100000000 \(max_step_pixels\)"):
        asyncio.run(run_steps(tiny, steps({"op": "resize", "width": 20000, "height": 20000}), no_regions, BlurOptions()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10_000_000  # nothing near 1.2 GB of pixels was allocated


def test_the_largest_resize_a_step_accepts_is_refused_too() -> None:
    with pytest.raises(ImageTooLargeError, match="65535x65535"):
        check_budget(steps({"op": "resize", "width": 65535, "height": 65535}), 100, 100, PixelBudget())


def test_each_step_counts_towards_the_chain_total() -> None:
    blur = {"op": "blur", "kind": "box", "size": 4}
    budget = PixelBudget(step_pixels=50_000_000, total_pixels=200_000_000)
    check_budget(steps(*[blur] * 4, {"op": "format", "format": "png"}), 10_000, 5_000, budget)  # 4 x 50 MP: the limit itself
    with pytest.raises(ImageTooLargeError, match=r"250000000 pixels by step 5 \(blur\).*200000000.*max_total_pixels"):
        check_budget(steps(*[blur] * 5), 10_000, 5_000, budget)


def test_tiles_and_rotations_are_counted_at_the_size_they_make() -> None:
    budget = PixelBudget(step_pixels=1_000_000, total_pixels=10_000_000)
    check_budget(steps({"op": "tile", "rows": 2, "cols": 2}), 1000, 1000, budget)  # four quarters: 1 MP in all
    with pytest.raises(ImageTooLargeError, match=r"step 1 \(rotate\).*1415x1415"):
        check_budget(steps({"op": "rotate", "angle": 45}), 1000, 1000, budget)  # the grown canvas


def test_the_committed_config_sets_the_defaults() -> None:
    config = text_format.Parse((REPOSITORY / "process" / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    parameters = {"parameters": {key: {"string_value": value.string_value} for key, value in config.parameters.items()}}
    assert PixelBudget.from_parameters(lambda key, default: config_parameter(parameters, key, default)) == PixelBudget()
    with pytest.raises(ValueError):
        PixelBudget.from_parameters(lambda key, default: "many")
