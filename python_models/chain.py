"""Run validated operation steps over one image. Plain Python over numpy, no Triton import.

Detection (for `anonymize` and `blur` on detected regions) is injected as ``find_regions``: an
async function from images and the step's blur options to their (detector records, faces record),
the JSON the `detect`, `plates` and `faces` models answer. The `process` model passes one that
calls those models through BLS; tests pass one over the ONNX detectors directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from contracts.metadata import AnonymizationStep, BlurApplied
from imaging.blur import blur_image, blur_regions
from imaging.errors import ImageTooLargeError, InvalidOptionError
from imaging.operations import (
    check_crop,
    check_interpolation,
    crop,
    resize,
    rotate,
    rotated_size,
    target_size,
    tile,
)
from imaging.tiling import grid
from python_models.metadata import anonymization, blur_plan, blur_residual, check_classes, with_residual
from python_models.operation_specs import PixelBudget, Step, detects
from python_models.options import BlurOptions, parse_blur_options

Regions = tuple[list[dict[str, Any]], dict[str, Any]]  # (detector records, faces record) of one image
RegionFinder = Callable[[list[np.ndarray], BlurOptions], Awaitable[list[Regions]]]
DEFAULT_BLUR_SIZE = 8.0


@dataclass(frozen=True)
class Piece:
    """One image on its way through the chain: a whole image, or a tile of it."""

    pixels: np.ndarray
    tiles: tuple[dict[str, int], ...] = ()  # where it was cut from, outermost tile step first
    anonymized: tuple[AnonymizationStep, ...] = field(default=())  # one record per detecting step


async def run_steps(
    pixels: np.ndarray, steps: list[Step], find_regions: RegionFinder, blur_defaults: BlurOptions, budget: PixelBudget | None = None
) -> list[Piece]:
    """Every output image of the chain, in order (tiles row by row).

    The whole chain is checked against the image's size first (:func:`planned_sizes`) and against
    ``budget`` (:func:`check_budget`), so a step that cannot apply, or would make too many pixels,
    fails before any pixel is touched (``budget``: the committed config's, unless given).
    """
    check_budget(steps, pixels.shape[1], pixels.shape[0], budget or PixelBudget())
    pieces = [Piece(pixels)]
    for step in steps:
        with naming(step):
            pieces = await _run_step(pieces, step, find_regions, blur_defaults)
    return pieces


def planned_sizes(steps: list[Step], width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of every output, from the sizes alone; refuses what would fail on pixels:
    a crop outside the image, a grid that does not fit, a resize beyond the side limit."""
    sizes = [(width, height)]
    for _, after in _sizes_after_each_step(steps, width, height):
        sizes = after
    return sizes


def _sizes_after_each_step(steps: list[Step], width: int, height: int) -> Iterator[tuple[Step, list[tuple[int, int]]]]:
    sizes = [(width, height)]
    for step in steps:
        with naming(step):
            sizes = [size for piece_size in sizes for size in _step_sizes(step, *piece_size)]
        yield step, sizes


def check_budget(steps: list[Step], width: int, height: int, budget: PixelBudget) -> None:
    """Refuse a chain, from the sizes alone, whose step makes an image of more than
    ``budget.step_pixels`` pixels, or whose steps make more than ``budget.total_pixels`` in all
    (every step's outputs counted, `format` excepted: it encodes what the last step made).

    Raises ImageTooLargeError naming the step, or InvalidOptionError as :func:`planned_sizes`.
    """
    total = 0
    for step, sizes in _sizes_after_each_step(steps, width, height):
        largest = max(sizes, key=lambda size: size[0] * size[1])
        if largest[0] * largest[1] > budget.step_pixels:
            raise ImageTooLargeError(
                f"operations step {step.index} ({step.op}) would make a {largest[0]}x{largest[1]} image = "
                f"{largest[0] * largest[1]} pixels, above the limit of {budget.step_pixels} (max_step_pixels)"
            )
        total += 0 if step.op == "format" else sum(w * h for w, h in sizes)
        if total > budget.total_pixels:
            raise ImageTooLargeError(
                f"operations would make {total} pixels by step {step.index} ({step.op}), above the limit "
                f"of {budget.total_pixels} for a whole chain (max_total_pixels)"
            )


def _step_sizes(step: Step, width: int, height: int) -> list[tuple[int, int]]:
    args = step.args
    if step.op == "resize":
        check_interpolation(args.get("interpolation", "auto"))
        return [target_size(width, height, new_width=args.get("width"), new_height=args.get("height"),
                            scale=args.get("scale"), fit=args.get("fit", "exact"))]
    if step.op == "crop":
        check_crop(args["x"], args["y"], args["width"], args["height"], image_width=width, image_height=height)
        return [(args["width"], args["height"])]
    if step.op == "rotate":
        return [rotated_size(width, height, args["angle"])]
    if step.op == "tile":
        return [(piece.width, piece.height) for piece in grid(width, height, args["rows"], args["cols"], args.get("overlap", 0))]
    return [(width, height)]


@contextmanager
def naming(step: Step) -> Iterator[None]:
    """An option error raised while handling ``step`` names the step."""
    try:
        yield
    except InvalidOptionError as exc:
        raise InvalidOptionError(f"operations step {step.index} ({step.op}): {exc}") from None


async def _run_step(pieces: list[Piece], step: Step, find_regions: RegionFinder, defaults: BlurOptions) -> list[Piece]:
    if step.op == "format":
        return pieces
    if detects(step):
        return await _anonymize(pieces, step, find_regions, defaults)
    if step.op == "tile":
        args = step.args
        return [
            Piece(np.ascontiguousarray(view), (*piece.tiles, position.as_dict()), piece.anonymized)
            for piece in pieces
            for position, view in tile(piece.pixels, args["rows"], args["cols"], args.get("overlap", 0))
        ]
    return [replace(piece, pixels=apply_geometry(piece.pixels, step)) for piece in pieces]


def apply_geometry(pixels: np.ndarray, step: Step) -> np.ndarray:
    """resize, crop, rotate, or a whole-image blur: one image in, one out."""
    args = step.args
    if step.op == "resize":
        height, width = pixels.shape[:2]
        size = target_size(
            width, height, new_width=args.get("width"), new_height=args.get("height"), scale=args.get("scale"), fit=args.get("fit", "exact")
        )
        return resize(pixels, *size, interpolation=args.get("interpolation", "auto"))
    if step.op == "crop":
        return crop(pixels, args["x"], args["y"], args["width"], args["height"])
    if step.op == "rotate":
        return rotate(pixels, args["angle"], tuple(args.get("fill", (0, 0, 0))))
    if step.op == "blur":
        return blur_image(pixels, kind=args.get("kind", "gaussian"), size=args.get("size", DEFAULT_BLUR_SIZE))
    raise InvalidOptionError(f"{step.op} is not a geometric operation")


def blur_options(step: Step, defaults: BlurOptions) -> BlurOptions:
    """The blur an `anonymize` or detected-region `blur` step asks for, over the model's defaults."""
    args = step.args
    if step.op == "anonymize":
        raw = {"blur_kind": args.get("blur_kind"), "blur_strength": args.get("blur_strength"), "blur_classes": args.get("blur_classes")}
    else:
        raw = {"blur_kind": args.get("kind"), "blur_strength": args.get("strength"), "blur_classes": args.get("classes")}
    present = {key: ",".join(value) if isinstance(value, list) else value for key, value in raw.items() if value is not None}
    return parse_blur_options(present, defaults)


async def _anonymize(pieces: list[Piece], step: Step, find_regions: RegionFinder, defaults: BlurOptions) -> list[Piece]:
    options = blur_options(step, defaults)
    found = await find_regions([piece.pixels for piece in pieces], options)
    result = []
    for piece, (detections, faces) in zip(pieces, found, strict=True):
        check_classes(detections, options)
        height, width = piece.pixels.shape[:2]
        boxes, regions = blur_plan(detections, faces, options, width, height)
        blurred = blur_regions(piece.pixels, boxes, kind=options.kind, strength=options.strength)
        record = AnonymizationStep(
            step=step.index,
            op=step.op,
            **anonymization(detections, faces, regions, BlurApplied(kind=options.kind, strength=options.strength)),
            versions={**{record["model"]: record["version"] for record in detections}, "faces": faces["version"]},
        )
        result.append(Piece(blurred, piece.tiles, (*piece.anonymized, record)))
    return await _verify(result, find_regions, options) if options.verify else result


async def _verify(pieces: list[Piece], find_regions: RegionFinder, options: BlurOptions) -> list[Piece]:
    """`verify`: faces and plates looked for again on the anonymised pieces; what is found is
    blurred again, added to the step's `blurred` (marked `residual`) and counted in `residual`."""
    found = await find_regions([piece.pixels for piece in pieces], replace(options, classes=frozenset()))
    verified = []
    for piece, (detections, faces) in zip(pieces, found, strict=True):
        pixels, residual = blur_residual(piece.pixels, detections, faces, options)
        *earlier, record = piece.anonymized
        verified.append(Piece(pixels, piece.tiles, (*earlier, with_residual(record, residual, detections, faces))))
    return verified
