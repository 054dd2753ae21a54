"""perf_analyzer input-data JSON: Triton's wire form of each tensor, base64, shape without the batch."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np

from perf.model_inputs import shape_arguments, tensor_entry, write_step_input_data
from perf.perf_analyzer import serialized_bytes, write_input_data


def test_bytes_tensors_are_length_prefixed() -> None:
    entry = tensor_entry(np.array([[b"photo"]], dtype=np.object_))
    assert entry["shape"] == [1]
    assert base64.b64decode(entry["b64"]) == struct.pack("<I", 5) + b"photo"
    assert entry["b64"] == serialized_bytes(b"photo")


def test_numeric_tensors_are_their_raw_bytes() -> None:
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(1, 2, 3, 3)
    entry = tensor_entry(pixels)
    assert entry["shape"] == [2, 3, 3]
    assert base64.b64decode(entry["b64"]) == pixels.tobytes()
    sizes = tensor_entry(np.array([[480, 640]], dtype=np.int32))
    assert np.frombuffer(base64.b64decode(sizes["b64"]), dtype="<i4").tolist() == [480, 640]


def test_one_entry_per_request_with_every_input(tmp_path: Path) -> None:
    samples = [
        {"decoded_image": np.zeros((1, 4, 5, 3), np.uint8), "image_size": np.array([[4, 5]], np.int32)},
        {"decoded_image": np.ones((1, 4, 5, 3), np.uint8), "image_size": np.array([[4, 5]], np.int32)},
    ]
    data = json.loads(write_step_input_data(samples, tmp_path / "in.json").read_text())["data"]
    assert len(data) == 2 and set(data[0]) == {"decoded_image", "image_size"}
    assert shape_arguments(samples[0]) == ["--shape=decoded_image:4,5,3", "--shape=image_size:2"]


def test_the_pipeline_input_matches_the_shipped_writer(tmp_path: Path) -> None:
    ours = write_step_input_data([{"IMAGE": np.array([[b"jpeg"]], dtype=np.object_)}], tmp_path / "a.json")
    shipped = write_input_data([b"jpeg"], tmp_path / "b.json")
    assert json.loads(ours.read_text()) == json.loads(shipped.read_text())
