"""The recall benchmark end to end on a tiny suite against the real Triton (no timing asserted).

Without the peer's venv (`python -m perf.peer setup`, never built here: it takes minutes) the
harness runs this product alone; the test with deface skips cleanly when the venv is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perf.peer import find_peer
from perf.recall import RecallConfig, run_recall, write_report
from perf.recall_results import JPEG_GROUP
from perf.recall_suite import PHOTOS
from perf.recall_systems import PIPELINE_LABEL, Variant

pytestmark = pytest.mark.server
PIXELATE = Variant("pixelate", {"blur_kind": "pixelate"})


def tiny(tmp_path: Path, url: str, peer_venv: Path | None, copies: int, variants: tuple[Variant, ...] = ()) -> RecallConfig:
    return RecallConfig(groups=(PHOTOS,), photos=1, copies=copies, peer_venv=peer_venv, triton_url=url,
                        out_dir=tmp_path / "results", work_dir=tmp_path / "work", label="smoke", variants=variants)


def test_the_pipeline_alone_is_measured_and_reported(triton_server: Any, tmp_path: Path) -> None:
    config = tiny(tmp_path, triton_server.grpc_url, None, copies=1, variants=(PIXELATE,))
    run = run_recall(config, "python -m perf.recall --no-peer")
    assert run.systems == [PIPELINE_LABEL, PIXELATE.label]
    [image] = run.images
    assert image.name == "photo-00" and len(image.changes[PIPELINE_LABEL]) == image.faces >= 2
    assert image.found(PIPELINE_LABEL) >= 1  # the astronaut, fitted whole at 1080p, is blurred
    assert image.found(PIXELATE.label) == image.found(PIPELINE_LABEL)  # the same boxes, another blur
    assert image.changes[PIXELATE.label] != image.changes[PIPELINE_LABEL]  # the parameter reached the blur step
    assert not image.errors
    assert {(t.system, t.group) for t in run.throughputs} == {
        (system, group) for system in run.systems for group in (PHOTOS, JPEG_GROUP)}
    assert all(t.wall_s > 0 and t.images == 1 for t in run.throughputs)
    markdown, data = write_report(run, config)
    text = markdown.read_text()
    assert "No peer in this run" in text and "| photos-1080p | photo-00 | 1920x1080 |" in text
    assert "python -m perf.recall --no-peer" in text
    assert "Variant `pixelate`: the same with request parameters `{'blur_kind': 'pixelate'}`" in text
    stored = json.loads(data.read_text())
    assert stored["images"][0]["changes"][PIPELINE_LABEL] == pytest.approx(image.changes[PIPELINE_LABEL], abs=1e-3)
    assert not any((tmp_path / "work").iterdir())  # the scratch folder is removed


def test_deface_beside_the_pipeline(triton_server: Any, tmp_path: Path) -> None:
    venv = find_peer()
    if venv is None:
        pytest.skip("the peer's venv is absent: `python -m perf.peer setup` builds it")
    config = tiny(tmp_path, triton_server.grpc_url, venv, copies=0)
    run = run_recall(config, "python -m perf.recall")
    assert run.systems == ["deface full resolution", "deface --scale 640x360", PIPELINE_LABEL]
    [image] = run.images
    assert image.found("deface full resolution") == image.faces  # all 3 faces of photo-00 (as in the committed before run)
    text = write_report(run, config)[0].read_text()
    assert "Recall >= deface at full resolution on every suite image" in text
