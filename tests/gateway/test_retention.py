"""Deleting jobs and not keeping originals, against the real Triton: what is stored is exactly what
the settings say, and a running job cannot be deleted from under its worker."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.gateway.conftest import GatewayFactory
from tests.photos import photo_bytes, photo_pixels

pytestmark = pytest.mark.server


def files_of(storage: Path) -> list[str]:
    return sorted(path.relative_to(storage).as_posix() for path in storage.rglob("*") if path.is_file())


def large_photo() -> bytes:
    """zidane.jpg scaled to 6000 px wide: tiled detection, seconds of work on a CPU."""
    pixels = Image.fromarray(photo_pixels("zidane.jpg")).resize((6000, 3375))
    buffer = io.BytesIO()
    pixels.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_delete_refuses_a_running_job_then_removes_the_finished_one(
    gateway_factory: GatewayFactory, triton_server: Any, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    gateway = gateway_factory(storage, triton_url=triton_server.grpc_url)
    operations = '[{"op": "anonymize"}, {"op": "tile", "rows": 1, "cols": 2}]'
    with gateway.client() as client:
        job_id = client.post("/v1/jobs", files={"file": ("big.jpg", large_photo())}, data={"operations": operations}).json()["job_id"]
        deadline = time.monotonic() + 60
        while (status := client.get(f"/v1/jobs/{job_id}").json()["status"]) == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert status == "running", "the photo takes seconds: still running"
        refused = client.delete(f"/v1/jobs/{job_id}")
        assert (refused.status_code, refused.json()["error"]) == (409, "job_running"), refused.text
        job = client.get(f"/v1/jobs/{job_id}", params={"wait": 60}).json()
        assert job["status"] == "succeeded" and len(job["outputs"]) == 2
        owned = [name for name in files_of(storage) if job_id in name]
        assert len(owned) == 7, owned  # original, result zip, two outputs, metadata, record, listing marker
        deleted = client.delete(f"/v1/jobs/{job_id}")
        assert deleted.status_code == 200, deleted.text
        assert set(owned) <= set(deleted.json()["deleted"])
        assert [name for name in files_of(storage) if job_id in name] == []
        assert client.get(f"/v1/jobs/{job_id}/result").status_code == 404


def test_originals_not_kept(gateway_factory: GatewayFactory, triton_server: Any, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    gateway = gateway_factory(storage, triton_url=triton_server.grpc_url, keep_originals_s=0)
    with gateway.client() as client:
        created = client.post("/v1/jobs", files={"file": ("z.jpg", photo_bytes("zidane.jpg"))}).json()
        job = client.get(created["status_url"], params={"wait": 60}).json()
        sync = client.post("/v1/process", params={"include": "metadata"}, files={"file": ("b.jpg", photo_bytes("bus.jpg"))})
        assert client.get(job["result_url"]).status_code == 200
    assert job["status"] == "succeeded" and job["original"] is None and job["original_expires_at"] == job["finished_at"]
    assert sync.status_code == 200, sync.text
    assert not [name for name in files_of(storage) if name.startswith(("originals/", "retention/"))]
    assert {f"results/{job['job_id']}.jpg", f"results/{sync.json()['job_id']}.jpg"} <= set(files_of(storage))
