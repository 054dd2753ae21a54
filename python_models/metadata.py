"""What gets blurred, and the METADATA JSON that records it. Plain Python, no Triton.

Detector records are what the `detect`, `plates` and `faces` models answer per image
(python_models.detections.detector_record): {"model", "version", "classes", "skipped", ...,
"detections" or "faces": rows}. Functions taking ``detections`` accept one record or a list.
The records built here are the contract's types (:mod:`contracts.metadata`): one
:func:`anonymization` shape for `pipeline` and `process` alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from contracts.metadata import (
    Anonymization,
    AnonymizationStep,
    AnonymizedImage,
    BlurApplied,
    BlurredRegion,
    ColorProfile,
    DetectorSummary,
    InputImage,
)
from imaging.blur import blur_regions
from imaging.boxes import expand_boxes
from python_models.classes import FACE, check_blur_classes
from python_models.options import BlurOptions, residual_blur

if TYPE_CHECKING:  # the codec (nvImageCodec) is loaded by the models that decode, not by blur
    from imaging.codec import DecodedImage

Record = dict[str, Any]


def as_records(detections: Record | Sequence[Record]) -> list[Record]:
    """One detector record or several, as a list."""
    return [detections] if isinstance(detections, dict) else list(detections)


def check_classes(detections: Record | Sequence[Record], options: BlurOptions) -> None:
    """`invalid_option` when `blur_classes` names a class none of these detectors (nor `face`) has."""
    available = {FACE} | {name for record in as_records(detections) for name in record.get("classes", ())}
    check_blur_classes(options.classes, available)


def blur_targets(detections: Record | Sequence[Record], faces: Record, options: BlurOptions) -> list[dict[str, Any]]:
    """Faces, plus detections whose class is blurred (listed or always): [{box, source, uncertain}].

    Uncertain rows (below the request's threshold, above the detector's floor) are targets unless
    ``options.blur_uncertain`` is off.
    """
    rows = [(FACE, face) for face in faces["faces"]]
    rows += [
        (found["class_name"], found)
        for record in as_records(detections)
        for found in record["detections"]
        if found["class_name"] in options.blurred_classes
    ]
    return [
        {"box": found["box"], "source": source, "uncertain": bool(found.get("uncertain", False))}
        for source, found in rows
        if options.blur_uncertain or not found.get("uncertain", False)
    ]


def target_boxes(targets: list[dict[str, Any]], margin: float, width: int, height: int) -> np.ndarray:
    """The boxes to blur, grown by `margin` of their size so edges of a face are covered too."""
    boxes = np.array([target["box"] for target in targets], dtype=np.float32).reshape(-1, 4)
    return expand_boxes(boxes, margin, width, height)


def blur_plan(
    detections: Record | Sequence[Record], faces: Record, options: BlurOptions, width: int, height: int
) -> tuple[np.ndarray, list[BlurredRegion]]:
    """(boxes to blur [k, 4] float32 pixels, METADATA's `blurred` records) for one image.

    Each record's `box` is the region actually blurred (the target grown by the margin, clipped
    to the image), `detected_box` the detector's box it came from, `source` "face" or the class,
    `uncertain` whether the detector scored it below the request's threshold.
    """
    targets = blur_targets(detections, faces, options)
    boxes = target_boxes(targets, options.margin, width, height)
    records = [
        BlurredRegion(
            box=[round(float(value), 1) for value in box],
            source=target["source"],
            detected_box=target["box"],
            uncertain=target["uncertain"],
        )
        for target, box in zip(targets, boxes, strict=True)
    ]
    return boxes, records


def residual_plan(
    detections: Record | Sequence[Record], faces: Record, options: BlurOptions, width: int, height: int
) -> tuple[np.ndarray, list[BlurredRegion]]:
    """`verify`: what the detectors still find on the anonymised image, uncertain rows included,
    as (boxes to blur again, `blurred` records marked `residual`)."""
    boxes, records = blur_plan(detections, faces, replace(options, blur_uncertain=True), width, height)
    return boxes, [BlurredRegion(**record, residual=True) for record in records]


def blur_residual(
    pixels: np.ndarray, detections: Record | Sequence[Record], faces: Record, options: BlurOptions
) -> tuple[np.ndarray, list[BlurredRegion]]:
    """`verify`: HxWx3 uint8 ``pixels`` with what the second look found blurred again (the residual
    blur of :func:`python_models.options.residual_blur`), and its `blurred` records."""
    height, width = pixels.shape[:2]
    boxes, records = residual_plan(detections, faces, options, width, height)
    if not len(boxes):
        return pixels, records
    kind, strength = residual_blur(options)
    return blur_regions(pixels, boxes, kind=kind, strength=strength), records


def uncertain_count(detections: Record | Sequence[Record], faces: Record) -> int:
    """How many rows (faces and detections) scored between their detector's floor and the threshold."""
    rows = [*faces["faces"], *(row for record in as_records(detections) for row in record["detections"])]
    return sum(1 for row in rows if row.get("uncertain"))


def detector_summaries(detections: Record | Sequence[Record], faces: Record) -> list[DetectorSummary]:
    """METADATA's `detectors`: per model its version, thresholds, whether it was skipped and the
    passes it ran."""
    return [
        DetectorSummary(
            model=record["model"],
            version=record["version"],
            threshold=record["threshold"],
            floor=record["floor"],
            skipped=record["skipped"],
            passes=record["passes"],
        )
        for record in [*as_records(detections), faces]
    ]


def input_image(decoded: DecodedImage) -> InputImage:
    """What `decode` (and `process`) say about the decoded input: size after EXIF orientation,
    sniffed format, codec backend, frames (always 1), alpha, and the ICC conversion if any."""
    record = InputImage(
        width=decoded.width,
        height=decoded.height,
        format=decoded.source_format,
        decoder=decoded.backend,
        frames=1,  # several frames or pages are refused (imaging.fidelity)
        alpha=decoded.alpha is not None,
    )
    if decoded.color is not None:
        record["color"] = cast(ColorProfile, decoded.color)  # built by imaging.color in that shape
    return record


def anonymization(
    detections: Record | Sequence[Record], faces: Record, blurred: list[BlurredRegion], blur: BlurApplied
) -> Anonymization:
    """One image's anonymisation (`pipeline`'s METADATA, a `process` `anonymized` record): the rows
    of every detector, the faces, the regions blurred, how many rows are uncertain, the detectors
    that ran or were skipped, and the blur used."""
    records = as_records(detections)
    return Anonymization(
        detections=[row for record in records for row in record["detections"]],
        faces=faces["faces"],
        blurred=blurred,
        uncertain=uncertain_count(records, faces),
        detectors=detector_summaries(records, faces),
        blur=blur,
    )


Anonymized = TypeVar("Anonymized", AnonymizedImage, AnonymizationStep)


def with_residual(
    record: Anonymized, residual: list[BlurredRegion], detections: Record | Sequence[Record], faces: Record
) -> Anonymized:
    """A copy of ``record`` (`blur`'s per-image METADATA or a `process` step's record) after
    `verify`: the residual regions added to `blurred`, counted in `residual`, and `verify` naming
    the models (and versions) that looked again, skipped ones excluded."""
    looked = [item for item in [*as_records(detections), faces] if not item.get("skipped")]
    verified = record.copy()
    verified["blurred"] = [*record["blurred"], *residual]
    verified["residual"] = len(residual)
    verified["verify"] = {item["model"]: item["version"] for item in looked}
    return verified


def image_metadata(
    image_info: dict[str, Any],
    detections: Record | Sequence[Record],
    faces: Record,
    blurred: list[BlurredRegion],
    blur: BlurApplied,
    blur_version: str,
) -> AnonymizedImage:
    """`pipeline`'s METADATA so far (`encode` adds `output`): the input as `decode` described it
    (``image_info``, the JSON of :func:`input_image` + `versions`), its :func:`anonymization`, and
    the versions of every model used."""
    records = as_records(detections)
    versions = {
        **image_info["versions"],
        **{record.get("model", "detect"): record["version"] for record in records},
        "faces": faces["version"],
        "blur": blur_version,
    }
    described = cast(InputImage, {key: value for key, value in image_info.items() if key != "versions"})
    return AnonymizedImage(**described, **anonymization(records, faces, blurred, blur), versions=versions)
