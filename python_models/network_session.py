"""A detector's network served as its own Triton model (``<detector>_net``: a TensorRT plan, or ONNX
Runtime with the TensorRT accelerator), called through BLS from the Python detector that plans
its passes and tiles. Importable only inside the Python-backend stub.

:class:`NetworkSession` offers what the detectors use of ``onnxruntime.InferenceSession``:
``get_inputs()`` (read from the version's model.onnx, the graph the network model serves) and
``run(output_names, feeds)``. Written against the python_backend BLS documentation (r24.10); no
GPU host with TensorRT has run it yet (README "GPU hosts").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
import triton_python_backend_utils as pb_utils

from python_models.torch_session import GraphInput


class NetworkError(RuntimeError):
    """The network model answered an error (not loaded, out of memory, bad shape)."""


class NetworkSession:
    """Runs ``model_name`` through BLS; inputs and outputs are numpy arrays."""

    def __init__(self, model_name: str, onnx_path: Path) -> None:
        if not model_name:
            raise ValueError("runtime triton needs the network_model parameter")
        self.model_name = model_name
        graph = onnx.load(str(onnx_path), load_external_data=False).graph
        initializers = {item.name for item in graph.initializer}
        self._inputs = [
            GraphInput(item.name, [dim.dim_param or dim.dim_value for dim in item.type.tensor_type.shape.dim])
            for item in graph.input
            if item.name not in initializers
        ]

    def get_inputs(self) -> list[GraphInput]:
        return list(self._inputs)

    def run(self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """One BLS request with every feed; NetworkError when the network model answers an error."""
        request = pb_utils.InferenceRequest(
            model_name=self.model_name,
            inputs=[pb_utils.Tensor(name, np.ascontiguousarray(array)) for name, array in feeds.items()],
            requested_output_names=list(output_names),
        )
        response = request.exec()
        if response.has_error():
            raise NetworkError(f"{self.model_name}: {response.error().message()}")
        return [pb_utils.get_output_tensor_by_name(response, name).as_numpy() for name in output_names]
