"""Tensor names of every model, as the committed `config.pbtxt` files declare them.

The public models (`pipeline`, `transcode`, `process`) take `IMAGE` and answer `RESULT` and
`METADATA`; the steps inside `pipeline` pass the intermediate tensors below. Each Python model
checks in `initialize` (:func:`check_model_tensors`) that its config declares exactly its
contract's names, so a config and the code reading it cannot drift apart unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Public: TYPE_STRING (BYTES) [1] in; RESULT [1] (process: [-1], one item per output) and METADATA [1] out.
IMAGE = "IMAGE"
RESULT = "RESULT"
METADATA = "METADATA"

# Between the steps of `pipeline` (and `process`'s BLS calls to the detectors).
DECODED_IMAGE = "decoded_image"  # [N, H, W, 3] uint8, zero-padded batch
IMAGE_SIZE = "image_size"  # [N, 2] int32 (height, width) of each image in the padded batch
DECODED_ALPHA = "decoded_alpha"  # [N, H, W] uint8 opacity, zero-padded
ALPHA_SIZE = "alpha_size"  # [N, 2] int32; (0, 0) for an image without alpha
IMAGE_INFO = "image_info"  # JSON per image: what decode found (size, format, decoder, ...)
DETECTIONS = "detections"  # JSON per image: a detector record (python_models.detections)
PLATE_DETECTIONS = "plate_detections"  # the `plates` model's `detections`, renamed by the ensemble
FACES = "faces"  # JSON per image: the `faces` model's record
BLURRED_IMAGE = "blurred_image"  # [N, H, W, 3] uint8, zero-padded
BLURRED_SIZE = "blurred_size"  # [N, 2] int32
BLUR_INFO = "blur_info"  # JSON per image: METADATA so far (encode adds `output`)


class ContractError(ValueError):
    """A model's config.pbtxt declares other tensors than its contract: the model refuses to load."""


@dataclass(frozen=True)
class ModelTensors:
    """The input and output tensor names one model's config must declare (in any order)."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


PUBLIC = ModelTensors((IMAGE,), (RESULT, METADATA))
DECODE = ModelTensors((IMAGE,), (DECODED_IMAGE, IMAGE_SIZE, DECODED_ALPHA, ALPHA_SIZE, IMAGE_INFO))
DETECTOR = ModelTensors((DECODED_IMAGE, IMAGE_SIZE), (DETECTIONS,))
FACE_DETECTOR = ModelTensors((DECODED_IMAGE, IMAGE_SIZE), (FACES,))
BLUR = ModelTensors(
    (DECODED_IMAGE, IMAGE_SIZE, IMAGE_INFO, DETECTIONS, PLATE_DETECTIONS, FACES), (BLURRED_IMAGE, BLURRED_SIZE, BLUR_INFO)
)
ENCODE = ModelTensors((BLURRED_IMAGE, BLURRED_SIZE, BLUR_INFO, DECODED_ALPHA, ALPHA_SIZE), (RESULT, METADATA))

MODELS: dict[str, ModelTensors] = {
    "pipeline": PUBLIC,
    "transcode": PUBLIC,
    "process": PUBLIC,
    "decode": DECODE,
    "detect": DETECTOR,
    "plates": DETECTOR,
    "faces": FACE_DETECTOR,
    "blur": BLUR,
    "encode": ENCODE,
}
"""Each committed model's tensors, by its name in the repository."""


def declared_names(model_config: Mapping[str, Any]) -> ModelTensors:
    """The input and output names a model config (Triton's JSON form of config.pbtxt) declares."""
    return ModelTensors(
        tuple(str(item["name"]) for item in model_config.get("input", ())),
        tuple(str(item["name"]) for item in model_config.get("output", ())),
    )


def check_model_tensors(model_config: Mapping[str, Any], expected: ModelTensors) -> None:
    """ContractError naming the difference when ``model_config`` does not declare ``expected``'s
    inputs and outputs (the same sets of names)."""
    declared = declared_names(model_config)
    for kind, have, want in (("inputs", declared.inputs, expected.inputs), ("outputs", declared.outputs, expected.outputs)):
        if set(have) != set(want):
            missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
            raise ContractError(
                f"model {model_config.get('name', '?')!r} config {kind} {sorted(have)} differ from the contract's "
                f"{sorted(want)} (missing {missing}, unexpected {extra})"
            )
