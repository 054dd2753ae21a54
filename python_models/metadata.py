"""What gets blurred, and the METADATA JSON that records it. Plain Python, no Triton."""

from __future__ import annotations

from typing import Any

import numpy as np

from imaging.boxes import expand_boxes
from python_models.options import BlurOptions


def blur_targets(detections: dict[str, Any], faces: dict[str, Any], options: BlurOptions) -> list[dict[str, Any]]:
    """Faces, plus detections whose class name is in options.classes: [{box, source}]."""
    targets = [{"box": face["box"], "source": "face"} for face in faces["faces"]]
    targets += [
        {"box": found["box"], "source": found["class_name"]}
        for found in detections["detections"]
        if found["class_name"] in options.classes
    ]
    return targets


def target_boxes(targets: list[dict[str, Any]], margin: float, width: int, height: int) -> np.ndarray:
    """The boxes to blur, grown by `margin` of their size so edges of a face are covered too."""
    boxes = np.array([target["box"] for target in targets], dtype=np.float32).reshape(-1, 4)
    return expand_boxes(boxes, margin, width, height)


def blur_plan(
    detections: dict[str, Any], faces: dict[str, Any], options: BlurOptions, width: int, height: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """(boxes to blur, METADATA's `blurred` records) for one image.

    Each record's `box` is the region actually blurred (the target grown by the margin, clipped
    to the image), `detected_box` the detector's box it came from, `source` "face" or the class.
    """
    targets = blur_targets(detections, faces, options)
    boxes = target_boxes(targets, options.margin, width, height)
    records = [
        {"box": [round(float(value), 1) for value in box], "source": target["source"], "detected_box": target["box"]}
        for target, box in zip(targets, boxes)
    ]
    return boxes, records


def image_metadata(
    image_info: dict[str, Any],
    detections: dict[str, Any],
    faces: dict[str, Any],
    blurred: list[dict[str, Any]],
    blur: dict[str, Any],
) -> dict[str, Any]:
    """The per-image record: size, detections, faces, blurred regions and the model versions used."""
    versions = {
        **image_info["versions"],
        "detect": detections["version"],
        "faces": faces["version"],
        **blur["versions"],
    }
    return {
        "width": image_info["width"],
        "height": image_info["height"],
        "format": image_info["format"],
        "decoder": image_info["decoder"],
        "detections": detections["detections"],
        "faces": faces["faces"],
        "blurred": blurred,
        "blur": {key: value for key, value in blur.items() if key != "versions"},
        "versions": versions,
    }
