"""Operation chains on real photos, with the real ONNX detectors standing in for BLS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from imaging.errors import InvalidOptionError
from python_models.chain import planned_sizes, run_steps
from python_models.detections import DetectorSettings, detector_record
from python_models.detectors import CenterFaceDetector, FaceThresholds, SessionSettings
from python_models.operation_specs import parse_operations
from python_models.options import BlurOptions
from tests.photos import photo_pixels

FACES_MODEL = next(iter(sorted(Path(__file__).resolve().parents[2].glob("model_repository/faces/*/model.onnx"))), None)


def run(pixels: np.ndarray, chain: list[dict], find_regions: object = None) -> list:
    steps = parse_operations(chain, max_outputs=64)
    return asyncio.run(run_steps(pixels, steps, find_regions or no_regions, BlurOptions()))


async def no_regions(images: list[np.ndarray], options: BlurOptions) -> list:
    raise AssertionError("no step of this chain should detect")


def test_steps_apply_in_order() -> None:
    pixels = photo_pixels("zidane.jpg")  # 1280x720
    [piece] = run(pixels, [{"op": "resize", "scale": 0.5}, {"op": "rotate", "angle": 90}, {"op": "crop", "x": 0, "y": 0, "width": 300, "height": 200}])
    assert piece.pixels.shape == (200, 300, 3) and piece.tiles == ()


def test_tile_makes_one_output_per_tile_and_later_steps_apply_to_each() -> None:
    pixels = photo_pixels("zidane.jpg")
    pieces = run(pixels, [{"op": "tile", "rows": 2, "cols": 3, "overlap": 10}, {"op": "resize", "width": 100, "height": 100}])
    assert len(pieces) == 6 and all(piece.pixels.shape == (100, 100, 3) for piece in pieces)
    assert [(piece.tiles[0]["row"], piece.tiles[0]["col"]) for piece in pieces] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]


def test_a_crop_outside_the_intermediate_image_names_its_step() -> None:
    with pytest.raises(InvalidOptionError, match=r"operations step 2 \(crop\): crop 700x10 at \(0, 0\) does not lie inside the 640x360"):
        run(photo_pixels("zidane.jpg"), [{"op": "resize", "scale": 0.5}, {"op": "crop", "x": 0, "y": 0, "width": 700, "height": 10}])


def test_the_chain_is_checked_against_the_image_size_before_any_step_runs() -> None:
    """A chain whose last step cannot apply fails before the (detecting) first step runs."""
    chain = [{"op": "anonymize"}, {"op": "rotate", "angle": 90}, {"op": "tile", "rows": 2, "cols": 2},
             {"op": "crop", "x": 300, "y": 0, "width": 100, "height": 10}]
    with pytest.raises(InvalidOptionError, match=r"operations step 4 \(crop\): crop 100x10 at \(300, 0\) does not lie inside the 360x640"):
        run(photo_pixels("zidane.jpg"), chain)  # no_regions fails the test if anonymize ran


def test_planned_sizes_match_what_the_chain_makes() -> None:
    chain = [{"op": "rotate", "angle": 30}, {"op": "tile", "rows": 2, "cols": 3, "overlap": 16},
             {"op": "resize", "scale": 0.5}, {"op": "crop", "x": 1, "y": 2, "width": 50, "height": 40}, {"op": "blur", "kind": "box"}]
    pixels = photo_pixels("zidane.jpg")
    steps = parse_operations(chain, max_outputs=64)
    for prefix in range(1, len(steps) + 1):
        made = [(piece.pixels.shape[1], piece.pixels.shape[0]) for piece in run(pixels, chain[:prefix])]
        assert planned_sizes(steps[:prefix], width=1280, height=720) == made
    with pytest.raises(InvalidOptionError, match=r"operations step 2 \(tile\): a 2x64 grid does not fit a 32x32 image"):
        planned_sizes(parse_operations([{"op": "resize", "width": 32, "height": 32}, {"op": "tile", "rows": 2, "cols": 64}], 500), 1280, 720)


@pytest.mark.skipif(FACES_MODEL is None, reason="no exported faces model")
def test_anonymize_on_tiles_finds_and_blurs_faces_in_each() -> None:
    detector = CenterFaceDetector(FACES_MODEL, 640, FaceThresholds(), SessionSettings())
    calls = []

    settings = DetectorSettings(model="faces", version="1", class_names={0: "face"}, threshold=0.5, floor=0.5)
    plates = DetectorSettings(model="plates", version="1", class_names={0: "license_plate"}, threshold=0.25, floor=0.1)

    async def find_regions(images: list[np.ndarray], options: BlurOptions) -> list:
        calls.append((len(images), options.kind))
        return [
            ([detector_record(plates, np.zeros((0, 6)), 0.25, "detections")], detector_record(settings, rows, 0.5, "faces"))
            for rows in detector.detect(images)
        ]

    pixels = photo_pixels("zidane.jpg")  # two faces, one in each half
    pieces = run(pixels, [{"op": "tile", "rows": 1, "cols": 2}, {"op": "anonymize", "blur_kind": "pixelate"}], find_regions)
    assert calls == [(2, "pixelate")]  # both tiles in one detection batch
    assert [len(piece.anonymized[0]["faces"]) for piece in pieces] == [1, 1]
    for piece, x0 in zip(pieces, [0, 640], strict=True):
        [face] = piece.anonymized[0]["blurred"]
        x1_, y1_, x2_, y2_ = (int(v) for v in face["box"])
        changed = np.abs(piece.pixels[y1_:y2_, x1_:x2_].astype(int) - pixels[y1_:y2_, x0 + x1_ : x0 + x2_]).mean()
        assert changed > 3 and piece.anonymized[0]["blur"]["kind"] == "pixelate"


def test_encoding_of_the_outputs_is_checked_up_front() -> None:
    from python_models.operation_specs import encode_options
    from python_models.process_outputs import check_chain

    steps = parse_operations([{"op": "tile", "rows": 8, "cols": 8}, {"op": "format", "format": "jp2", "resolutions": 8}], 64)
    options = encode_options(steps, {}, "jpeg")
    with pytest.raises(InvalidOptionError, match=r"output 160x90: resolutions=8 needs tiles of at least 128 pixels"):
        check_chain(steps, options, 1280, 720)
    check_chain(steps[:1], encode_options(steps[:1], {}, "jpeg"), 1280, 720)  # the same tiles as JPEG: fine
