"""perf_analyzer input data for every step of the ensemble, captured from the real models.

The pipeline's own config says which tensors each step reads and writes: we send each photo
through the steps one model at a time and keep what every model received, so perf_analyzer
can replay exactly those tensors to that model alone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import np_to_triton_dtype, serialize_byte_tensor

from contracts.tensors import IMAGE

Tensors = dict[str, np.ndarray]  # tensor name -> array with the batch dimension [1, ...]


def ensemble_steps(client: grpcclient.InferenceServerClient, ensemble: str) -> list[dict[str, Any]]:
    """The ensemble's steps as in its config: model_name, input_map, output_map."""
    config = client.get_model_config(ensemble, as_json=True)["config"]
    return list(config["ensemble_scheduling"]["step"])


def capture_step_inputs(
    client: grpcclient.InferenceServerClient, ensemble: str, payloads: Sequence[bytes], input_name: str = IMAGE
) -> dict[str, list[Tensors]]:
    """For each composing model, the inputs it received for each payload (one request per photo)."""
    steps = ensemble_steps(client, ensemble)
    captured: dict[str, list[Tensors]] = {step["model_name"]: [] for step in steps}
    for payload in payloads:
        pool: Tensors = {input_name: np.array([[payload]], dtype=np.object_)}
        for step in steps:
            inputs = {model_input: pool[name] for model_input, name in step["input_map"].items()}
            outputs = _infer(client, step["model_name"], inputs, list(step["output_map"]))
            pool.update({step["output_map"][name]: array for name, array in outputs.items()})
            captured[step["model_name"]].append(inputs)
    return captured


def _infer(client: grpcclient.InferenceServerClient, model: str, inputs: Mapping[str, np.ndarray], outputs: list[str]) -> Tensors:
    tensors = []
    for name, array in inputs.items():
        tensor = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
        tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    requested = [grpcclient.InferRequestedOutput(name) for name in outputs]
    reply = client.infer(model, tensors, outputs=requested)
    return {name: reply.as_numpy(name) for name in outputs}


def tensor_entry(array: np.ndarray) -> dict[str, Any]:
    """One input of one perf_analyzer data entry: base64 of the wire bytes, shape without the batch dim.

    BYTES tensors travel in Triton's serialized form (each element length-prefixed).
    """
    sample = array[0]
    wire = serialize_byte_tensor(sample).item() if array.dtype == np.object_ else np.ascontiguousarray(sample).tobytes()
    return {"b64": base64.b64encode(wire).decode(), "shape": list(sample.shape)}


def write_step_input_data(samples: Sequence[Tensors], path: Path) -> Path:
    """perf_analyzer --input-data JSON: one entry per captured request."""
    entries = [{name: tensor_entry(array) for name, array in sample.items()} for sample in samples]
    path.write_text(json.dumps({"data": entries}))
    return path


def shape_arguments(sample: Tensors) -> list[str]:
    """--shape NAME:d1,d2 for every input (needed for variable dims such as [-1, -1, 3])."""
    return [f"--shape={name}:{','.join(str(dim) for dim in array.shape[1:])}" for name, array in sample.items()]
