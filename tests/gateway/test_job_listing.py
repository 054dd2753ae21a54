"""The job API over real HTTP, no Triton: ``GET /v1/jobs`` on a local folder and on S3 (moto),
filenames in batch replies and downloads, and a failed job's result answering its error.

Jobs fail as ``job_expired`` on a gateway with a 1 s deadline; the same store then serves a
gateway with the default deadline, whose jobs stay ``queued``: a store with both states."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.api.downloads import content_disposition, download_name
from gateway.jobs.models import Job, StoredObject
from tests.gateway.conftest import GatewayFactory, RunningGateway, make_bucket
from tests.gateway.test_job_lifecycle import wait_for
from tests.photos import photo_bytes

FAILED, QUEUED = 3, 4


def upload(client: httpx.Client, name: str = "zidane.jpg") -> str:
    reply = client.post("/v1/jobs", files={"file": (name, photo_bytes("zidane.jpg"))})
    assert reply.status_code == 202, reply.text
    return str(reply.json()["job_id"])


@pytest.fixture(scope="module", params=["local", "s3"])
def jobs(request: pytest.FixtureRequest, gateway_factory: GatewayFactory, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunningGateway, dict[str, list[str]]]:
    """A gateway over a store holding FAILED failed jobs (older) and QUEUED queued ones (newer)."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        make_bucket(endpoint, "jobs-listing")
        storage: Any = "s3://jobs-listing/gateway"
        extra = {"s3_endpoint_url": endpoint, "s3_region": "us-east-1"}
    else:
        storage, extra = tmp_path_factory.mktemp("listing"), {}
    expiring = gateway_factory(storage, job_deadline_s=1.0, **extra)
    with expiring.client() as client:
        failed = [upload(client, f"failed-{index}.jpg") for index in range(FAILED)]
        for job_id in failed:
            wait_for(client, job_id, "failed", 20)
    expiring.stop()
    gateway = gateway_factory(storage, **extra)
    with gateway.client() as client:
        queued = [upload(client, f"queued-{index}.jpg") for index in range(QUEUED)]
    return gateway, {"failed": failed, "queued": queued}


def test_newest_first_in_pages_that_cover_every_job_once(jobs: tuple[RunningGateway, dict[str, list[str]]]) -> None:
    gateway, made = jobs
    newest_first = list(reversed(made["failed"] + made["queued"]))  # each was accepted after the previous one
    seen: list[str] = []
    with gateway.client() as client:
        everything = client.get("/v1/jobs").json()
        cursor = None
        for _ in range(10):
            page = client.get("/v1/jobs", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
            assert len(page["jobs"]) <= 2
            seen += [job["job_id"] for job in page["jobs"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert [job["job_id"] for job in everything["jobs"]] == newest_first and everything["next_cursor"] is None
    assert seen == newest_first
    row = everything["jobs"][0]
    assert row["filename"] == "queued-3.jpg" and row["status_url"].endswith(f"/v1/jobs/{row['job_id']}")
    assert "metadata" not in row, "rows are summaries"


def test_filter_by_status(jobs: tuple[RunningGateway, dict[str, list[str]]]) -> None:
    gateway, made = jobs
    with gateway.client() as client:
        failed = client.get("/v1/jobs", params={"status": "failed"}).json()
        both = client.get("/v1/jobs", params=[("status", "failed"), ("status", "queued")]).json()
        none = client.get("/v1/jobs", params={"status": "succeeded"}).json()
    assert [job["job_id"] for job in failed["jobs"]] == list(reversed(made["failed"]))
    assert all(job["error"]["error"] == "job_expired" for job in failed["jobs"])
    assert len(both["jobs"]) == FAILED + QUEUED
    assert none == {"jobs": [], "next_cursor": None}


def test_filter_by_creation_time(jobs: tuple[RunningGateway, dict[str, list[str]]]) -> None:
    gateway, made = jobs
    with gateway.client() as client:
        records = {job_id: client.get(f"/v1/jobs/{job_id}").json() for job_id in made["failed"] + made["queued"]}
        split = records[made["queued"][0]]["created_at"]  # the first queued job, included by created_after
        after = client.get("/v1/jobs", params={"created_after": split}).json()
        before = client.get("/v1/jobs", params={"created_before": split}).json()
        paged = client.get("/v1/jobs", params={"created_before": split, "limit": 1}).json()
        future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
        nothing = client.get("/v1/jobs", params={"created_after": future}).json()
    assert [job["job_id"] for job in after["jobs"]] == list(reversed(made["queued"]))
    assert [job["job_id"] for job in before["jobs"]] == list(reversed(made["failed"]))
    assert [job["job_id"] for job in paged["jobs"]] == [made["failed"][-1]] and paged["next_cursor"]
    assert nothing["jobs"] == []


@pytest.mark.parametrize(
    ("params", "says"),
    [({"status": "done"}, "status"), ({"created_after": "yesterday"}, "created_after"),
     ({"created_after": "2024-05-01T10:00:00"}, "time zone"), ({"limit": 0}, "limit"), ({"limit": 5000}, "limit"),
     ({"cursor": "bm90LWEta2V5"}, "cursor"), ({"cursor": "%%%"}, "cursor"),
     ({"created_after": "2024-05-02T00:00:00Z", "created_before": "2024-05-01T00:00:00Z"}, "earlier")],
)
def test_bad_filters_are_422(jobs: tuple[RunningGateway, dict[str, list[str]]], params: dict[str, Any], says: str) -> None:
    gateway, _ = jobs
    with gateway.client() as client:
        reply = client.get("/v1/jobs", params=params)
    assert (reply.status_code, reply.json()["error"]) == (422, "invalid_request"), reply.text
    assert says in reply.json()["detail"]


def test_a_failed_jobs_result_answers_its_error(jobs: tuple[RunningGateway, dict[str, list[str]]]) -> None:
    gateway, made = jobs
    with gateway.client() as client:
        result = client.get(f"/v1/jobs/{made['failed'][0]}/result")
        metadata = client.get(f"/v1/jobs/{made['failed'][0]}/metadata")
        queued = client.get(f"/v1/jobs/{made['queued'][0]}/result")
    for reply in (result, metadata):
        assert (reply.status_code, reply.json()["error"]) == (409, "job_failed"), reply.text
        assert "(job_expired): not finished within 1 s" in reply.json()["detail"]
    assert (queued.status_code, queued.json()["error"]) == (409, "job_not_finished")


def test_deleted_jobs_leave_the_listing(jobs: tuple[RunningGateway, dict[str, list[str]]]) -> None:
    gateway, _ = jobs
    with gateway.client() as client:
        job_id = upload(client, "short-lived.jpg")
        assert client.get("/v1/jobs", params={"limit": 1}).json()["jobs"][0]["job_id"] == job_id
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
        listed = [job["job_id"] for job in client.get("/v1/jobs").json()["jobs"]]
    assert job_id not in listed and len(listed) == FAILED + QUEUED


def test_batch_replies_echo_each_filename(gateway_factory: GatewayFactory) -> None:
    names = ["Été à Paris.jpg", "a b;c.jpg", "plain.jpg"]  # httpx would percent-encode a quote (HTML5 form rules)
    gateway = gateway_factory()
    with gateway.client() as client:
        reply = client.post("/v1/jobs/batch", files=[("files", (name, photo_bytes("zidane.jpg"))) for name in names])
        single = client.post("/v1/jobs", files={"file": ("写真.jpg", photo_bytes("zidane.jpg"))})
    assert reply.status_code == 202, reply.text
    assert [job["filename"] for job in reply.json()["jobs"]] == names
    assert single.json()["filename"] == "写真.jpg"


@pytest.mark.parametrize(
    ("filename", "source", "header"),
    [("beach.jpeg", "upload", "attachment; filename=\"beach.png\"; filename*=UTF-8''beach.png"),
     ("Été à Paris.jpg", "upload",
      "attachment; filename=\"Ete a Paris.png\"; filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris.png"),
     ("写真.jp2", "upload", "attachment; filename=\"__.png\"; filename*=UTF-8''%E5%86%99%E7%9C%9F.png"),
     ('x"\r\nSet-Cookie: a=b.jpg', "upload",
      "attachment; filename=\"x_Set-Cookie: a=b.png\"; filename*=UTF-8''x%22Set-Cookie%3A%20a%3Db.png"),
     ("..\\..\\secret.tif", "upload", "attachment; filename=\"secret.png\"; filename*=UTF-8''secret.png"),
     (None, "s3://photos-in/2024/dune.webp", "attachment; filename=\"dune.png\"; filename*=UTF-8''dune.png")],
)
def test_download_names(filename: str | None, source: str, header: str) -> None:
    job = Job(filename=filename, source=source)
    result = StoredObject(key=f"results/{job.job_id}.png", location="", content_type="image/png", bytes=1)
    value = content_disposition(download_name(job, result))
    assert value == header
    assert "\r" not in value and "\n" not in value
    httpx.Headers({"Content-Disposition": value})  # a valid header value


@pytest.mark.parametrize("filename", ["x" * 300 + ".jpg", "é" * 200 + ".jpg", "写真" * 100 + ".jp2"])
def test_download_names_fit_a_file_system_name(filename: str) -> None:
    """255 bytes (NAME_MAX of ext4, APFS, NTFS in UTF-16 units): `curl -OJ` can save it."""
    job = Job(filename=filename, source="upload")
    result = StoredObject(key=f"results/{job.job_id}.png", location="", content_type="image/png", bytes=1)
    name = download_name(job, result)
    assert len(name.encode()) <= 255 and name.endswith(".png")
    assert name[:-4] and filename.startswith(name[:-4])  # the stem's start, cut between characters


def test_jobs_recorded_before_the_index_are_listed_after_a_restart(gateway_factory: GatewayFactory, tmp_path: Path) -> None:
    first = gateway_factory(tmp_path)
    with first.client() as client:
        job_ids = [upload(client, f"old-{index}.jpg") for index in range(3)]
    first.stop()
    shutil.rmtree(tmp_path / "index")  # a store written before the listing markers existed
    (tmp_path / "index-complete").unlink(missing_ok=True)  # a new store gets none (nothing to walk)
    second = gateway_factory(tmp_path)
    with second.client() as client:
        listed = [job["job_id"] for job in client.get("/v1/jobs").json()["jobs"]]
    assert listed == list(reversed(job_ids))
    assert (tmp_path / "index-complete").exists()
