"""Several outputs of one photo as a zip: names from the metadata, images stored as they are."""

from __future__ import annotations

import io
import json
import zipfile

from gateway.jobs.archive import output_names, zip_outputs

METADATA = {
    "output": {"format": "jpeg", "count": 3},
    "outputs": [{"tiles": [{"row": 0, "col": 0}]}, {"tiles": [{"row": 0, "col": 1}]}, {"tiles": []}],
}


def test_names_carry_the_index_and_the_tile_position() -> None:
    assert output_names(METADATA, 3) == ["000-r0c0.jpg", "001-r0c1.jpg", "002.jpg"]
    assert output_names({"output": {"format": "png"}}, 2) == ["000.png", "001.png"]


def test_zip_holds_every_output_unchanged_and_the_metadata() -> None:
    outputs = (b"first", b"second", b"third")
    with zipfile.ZipFile(io.BytesIO(zip_outputs(outputs, METADATA))) as archive:
        assert archive.namelist() == ["000-r0c0.jpg", "001-r0c1.jpg", "002.jpg", "metadata.json"]
        assert [archive.read(name) for name in archive.namelist()[:3]] == list(outputs)
        assert json.loads(archive.read("metadata.json")) == METADATA
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
