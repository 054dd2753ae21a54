"""METADATA, the JSON each public model answers beside RESULT: its types and its JSON Schema.

One image's anonymisation (:class:`Anonymization`: what the detectors found, what was blurred)
has the same shape in `pipeline`'s METADATA and in each `anonymized` record of `process`'s
outputs. Boxes are ``[x1, y1, x2, y2]`` in pixels of the image that was looked at (`pipeline`:
the original after EXIF orientation; `process`: the image at that step). README "The `pipeline`
model" explains every field.

:func:`json_schema` gives the JSON Schema (draft 2020-12) of one model's METADATA, generated from
these types; objects allow no keys the types do not name.
"""

from __future__ import annotations

from typing import Any, cast

from typing_extensions import NotRequired, TypedDict

Box = list[float]  # [x1, y1, x2, y2] pixels


class Detection(TypedDict):
    """A row of `detect` or `plates`: ``uncertain`` when scored between the floor and the threshold."""

    box: Box
    score: float
    class_id: int
    class_name: str  # COCO-style standard name: "person", "license_plate"
    detector: str  # the model that found it
    version: str
    uncertain: bool


class Face(TypedDict):
    """A row of `faces`."""

    box: Box
    score: float
    detector: str
    version: str
    uncertain: bool


class BlurredRegion(TypedDict):
    """A region blurred: ``box`` is ``detected_box`` grown by the blur margin, clipped to the image."""

    box: Box
    source: str  # "face" or the detection's class_name
    detected_box: Box
    uncertain: bool
    residual: NotRequired[bool]  # found by `verify`'s second look


class DetectionPass(TypedDict):
    """One pass a detector ran (imaging.passes): its kind, scale, views per rotation and rotations."""

    kind: str  # "frame", "whole", "scaled", "tiles"
    scale: float
    count: int
    rotations: list[int]  # degrees


class DetectorSummary(TypedDict):
    """What one detector model did for this image."""

    model: str
    version: str
    threshold: float
    floor: float
    skipped: bool  # not run (e.g. `detect` when no class it finds is blurred)
    passes: list[DetectionPass]


class BlurApplied(TypedDict):
    kind: str  # "gaussian", "pixelate", "median", "box"
    strength: float


class Anonymization(TypedDict):
    """One anonymisation of one image: `pipeline`'s METADATA and each `process` `anonymized` record."""

    detections: list[Detection]
    faces: list[Face]
    blurred: list[BlurredRegion]
    uncertain: int  # rows scored between floor and threshold
    detectors: list[DetectorSummary]
    blur: BlurApplied
    residual: NotRequired[int]  # `verify`: how many regions the second look found
    verify: NotRequired[dict[str, str]]  # `verify`: model -> version of the detectors that looked again


class ColorProfile(TypedDict):
    """The input's ICC profile and what the pixels were converted to (imaging.color)."""

    icc: str
    converted_to: str | None
    note: NotRequired[str]


class InputImage(TypedDict):
    """The decoded input (after EXIF orientation), as `decode` describes it."""

    width: int
    height: int
    format: str  # sniffed from the bytes: "jpeg", "png", "jp2", "j2k", "webp", "tiff", "bmp"
    decoder: str  # the codec backend: "nvimgcodec-cpu", "nvimgcodec-gpu", "pillow", "openjpeg"
    frames: int  # always 1: several frames or pages are refused
    alpha: bool  # the input has transparency
    color: NotRequired[ColorProfile]


class EncodedOutput(TypedDict):
    """The encoded RESULT (for `process`: all of its items together)."""

    format: str
    content_type: str
    bytes: int
    encoder: NotRequired[str]  # `pipeline`, `process` (comma-separated when several backends)
    alpha: NotRequired[bool]  # `pipeline`: the output kept the input's alpha
    count: NotRequired[int]  # `process`: how many items RESULT holds
    bits: NotRequired[int]  # `transcode`: bits per sample written
    channels: NotRequired[int]  # `transcode`: channels written


class AnonymizedImage(InputImage, Anonymization):
    """The input and its anonymisation: `blur`'s `blur_info` tensor, `pipeline`'s METADATA before `encode`."""

    versions: dict[str, str]  # step model -> version that served it


class PipelineMetadata(AnonymizedImage):
    """`pipeline`'s METADATA."""

    output: EncodedOutput


class AnonymizationStep(Anonymization):
    """`process`: one detecting step's record for one output image."""

    step: int  # index in the chain; 0 is the anonymize put first in a chain without one
    op: str  # "anonymize" or "blur" (of detected regions)
    versions: dict[str, str]


class StoredOutput(TypedDict):
    """Where the gateway stored one item of a job's RESULT (``GET /v1/jobs/{id}/metadata`` only)."""

    key: str
    location: str
    content_type: str
    bytes: int


class ProcessOutputImage(TypedDict):
    """`process`: one item of RESULT, in order."""

    index: int
    width: int
    height: int
    bytes: int
    encoder: str
    tiles: list[dict[str, int]]  # where it was cut from: {"row", "col", "x", "y", "width", "height"}
    anonymized: list[AnonymizationStep]
    object: NotRequired[StoredOutput]  # added by the gateway to a job's metadata, never by the model


class ProcessMetadata(InputImage):
    """`process`'s METADATA."""

    operations: list[dict[str, Any]]  # the steps as run: {"op", ...its fields}
    outputs: list[ProcessOutputImage]
    output: EncodedOutput
    versions: dict[str, str]


class TranscodeMetadata(TypedDict):
    """`transcode`'s METADATA (no detection)."""

    width: int
    height: int
    format: str
    bits: int
    channels: int
    decoder: str
    encoder: str
    reduce: int
    reduce_method: str  # "none", "codestream", "resample"
    frames: int
    color: NotRequired[ColorProfile]
    output: EncodedOutput
    versions: dict[str, str]


Metadata = PipelineMetadata | ProcessMetadata | TranscodeMetadata
"""The METADATA of any public model (what the gateway reads: `output` is common to all three)."""

METADATA_TYPES: dict[str, type] = {
    "pipeline": PipelineMetadata,
    "process": ProcessMetadata,
    "transcode": TranscodeMetadata,
}
"""Each public model's METADATA type."""


def output_images(metadata: Metadata) -> list[ProcessOutputImage]:
    """`process`'s ``outputs`` (one record per item of RESULT, in order); [] for the other models."""
    return cast(ProcessMetadata, metadata)["outputs"] if "outputs" in metadata else []


def json_schema(model: str) -> dict[str, Any]:
    """The JSON Schema of ``model``'s METADATA (KeyError for a model without one); needs pydantic."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **_schema(METADATA_TYPES[model], "#/$defs/{model}")}


def openapi_components() -> dict[str, dict[str, Any]]:
    """Every public model's METADATA schema and the types it uses, as OpenAPI `components.schemas`
    (PipelineMetadata, ProcessMetadata, TranscodeMetadata, ...); needs pydantic."""
    components: dict[str, dict[str, Any]] = {}
    for metadata_type in METADATA_TYPES.values():
        schema = _schema(metadata_type, "#/components/schemas/{model}")
        components |= schema.pop("$defs", {})
        components[metadata_type.__name__] = schema
    return components


def _schema(metadata_type: type, ref_template: str) -> dict[str, Any]:
    from pydantic import TypeAdapter  # the gateway's and the tests' dependency, not the models'

    schema = TypeAdapter(metadata_type).json_schema(ref_template=ref_template)
    _close_objects(schema)
    return schema


def _close_objects(schema: Any) -> None:
    """No undeclared keys in any typed object (free-form mappings keep their additionalProperties)."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _close_objects(value)
    elif isinstance(schema, list):
        for value in schema:
            _close_objects(value)
