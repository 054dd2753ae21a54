"""Several output images (tiles) of one photo as one zip, with the metadata that lists them."""

from __future__ import annotations

import io
import json
import zipfile

from contracts.metadata import Metadata, output_images
from gateway.jobs.repository import EXTENSIONS


def output_names(metadata: Metadata, count: int) -> list[str]:
    """File names of the outputs, in order: ``003-r1c0.png`` for a tile, ``003.png`` otherwise."""
    output = metadata.get("output")
    fmt = output.get("format", "bin") if output else "bin"
    extension = EXTENSIONS.get(fmt, fmt)
    described = output_images(metadata)
    names = []
    for index in range(count):
        tiles = described[index].get("tiles", []) if index < len(described) else []
        position = "".join(f"-r{tile['row']}c{tile['col']}" for tile in tiles)
        names.append(f"{index:03d}{position}.{extension}")
    return names


def zip_outputs(outputs: tuple[bytes, ...], metadata: Metadata) -> bytes:
    """A zip of every output (stored, not recompressed: they are compressed images) + metadata.json."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in zip(output_names(metadata, len(outputs)), outputs, strict=True):
            archive.writestr(name, data)
        archive.writestr("metadata.json", json.dumps(metadata, indent=1))
    return buffer.getvalue()
