"""The recall report's goal verdicts and totals, from hand-made results (pure)."""

from __future__ import annotations

import math

from perf.recall_report import goals, render
from perf.recall_results import JPEG_GROUP, ImageRecall, RecallRun, Throughput
from perf.recall_systems import PIPELINE_LABEL

FULL, SCALED = "deface full resolution", "deface --scale 640x360"


def make_run(ours: list[float], theirs: list[float], ours_s: float, theirs_s: float) -> RecallRun:
    run = RecallRun(started="now", command="python -m perf.recall", environment={"cpu": "2 x test"}, configuration={},
                    systems=[FULL, SCALED, PIPELINE_LABEL])
    image = ImageRecall("photos-1080p", "photo-00", "1920x1080", len(ours))
    image.changes = {PIPELINE_LABEL: ours, FULL: theirs, SCALED: theirs}
    run.images.append(image)
    run.throughputs += [Throughput(PIPELINE_LABEL, JPEG_GROUP, 10, ours_s), Throughput(SCALED, JPEG_GROUP, 10, theirs_s, 1.0)]
    return run


def test_both_goals_met() -> None:
    lines = goals(make_run([30.0, 2.0], [30.0, 1.9], ours_s=2.0, theirs_s=3.0))
    assert "1 of 1 images" in lines[0] and "**met**" in lines[0]
    assert "5.00 vs 5.00 img/s, 1.00x: **met**" in lines[1]  # deface's start-up (1 s) left out in its favour


def test_a_face_fewer_on_one_image_misses_the_recall_goal() -> None:
    lines = goals(make_run([30.0, 0.0], [30.0, 25.0], ours_s=4.0, theirs_s=2.0))
    assert "**missed** on photo-00 (1 vs 2 of 2)" in lines[0]
    assert "2.50 vs 10.00 img/s, 0.25x: **missed**" in lines[1]


def test_throughput_net_of_start_up() -> None:
    assert Throughput("x", "g", 10, 6.0, 1.0).images_per_s == 2.0
    assert math.isnan(Throughput("x", "g", 10, 1.0, 1.0).images_per_s)


def test_render_names_the_command_and_every_image() -> None:
    text = render(make_run([30.0], [30.0], 1.0, 2.0), "run.json")
    assert ".venv/bin/python -m perf.recall" in text and "| photos-1080p | photo-00 | 1920x1080 | 1 | 1/1, min 30.0" in text
    assert "[run.json](run.json)" in text
