"""``anonymise`` against the real gateway and Triton: a folder tree of 20 mixed photos (one
corrupt), killed with SIGKILL, interrupted with SIGINT, resumed: finished files are never sent
again (their job ids, inodes and the gateway's own request counter say so), exit codes and the
summary checked; an API key, unknown classes, and an S3 prefix the gateway reads."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from anonymise.outputs import PARTIAL_SUFFIX
from anonymise.state import JOURNAL_NAME
from gateway.storage.s3 import make_s3_client
from tests.gateway.conftest import S3_CREDENTIALS, RunningGateway, free_port, make_settings
from tests.photos import photo_bytes

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ["zidane.jpg", "bus.jpg", "grace_hopper.jpg", "astronaut.png", "coffee.png", "nemo.jp2"]
SAVED_AS = [("JPEG", ".jpg"), ("PNG", ".png"), ("JPEG2000", ".jp2"), ("WEBP", ".webp"), ("TIFF", ".tif")]
FOLDERS = ["", "trip", "trip/day2", "family/2024"]
PILLOW_FORMATS = {".jpg": "JPEG", ".png": "PNG", ".jp2": "JPEG2000", ".webp": "WEBP", ".tif": "TIFF"}


def small(name: str, side: int) -> Image.Image:
    image = Image.open(io.BytesIO(photo_bytes(name))).convert("RGB")
    image.thumbnail((side, side))
    return image


def photo_tree(root: Path) -> dict[str, tuple[int, int]]:
    """19 photos in five formats (one BMP) over nested folders, a truncated JPEG and a text file.

    Answers each photo's relative path and size.
    """
    sizes = {}
    for index in range(19):
        image = small(PHOTOS[index % len(PHOTOS)], 200 + 8 * index)
        pillow_format, extension = ("BMP", ".bmp") if index == 18 else SAVED_AS[index % len(SAVED_AS)]
        relative = f"{FOLDERS[index % len(FOLDERS)]}/photo{index:02d}{extension}".lstrip("/")
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        image.save(root / relative, format=pillow_format)
        sizes[relative] = image.size
    whole = io.BytesIO()
    small("zidane.jpg", 320).save(whole, format="JPEG")
    (root / "trip" / "broken.jpg").write_bytes(whole.getvalue()[: len(whole.getvalue()) // 3])
    (root / "notes.txt").write_text("not a photo")
    return sizes


@pytest.fixture(scope="module")
def gateway(triton_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    running = RunningGateway(make_settings(tmp_path_factory.mktemp("storage"), triton_url=triton_server.grpc_url)).start()
    yield running
    running.stop()


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "anonymise", "--no-progress", *args]


def journal(out: Path) -> list[dict[str, Any]]:
    path = out / JOURNAL_NAME
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()] if path.exists() else []


def events(entries: list[dict[str, Any]], kind: str) -> dict[str, str]:
    """key -> job id of the last ``kind`` event."""
    return {entry["key"]: entry["job_id"] for entry in entries if entry["event"] == kind}


def unfinished(entries: list[dict[str, Any]]) -> dict[str, str]:
    """key -> job id of the jobs accepted that have neither a result nor a failure yet."""
    ended = set(events(entries, "done")) | set(events(entries, "failed"))
    return {key: job for key, job in events(entries, "submitted").items() if key not in ended}


def stop_when(process: subprocess.Popen[str], out: Path, done: int, signal_number: int, in_flight: bool = False) -> None:
    """Send ``signal_number`` once the journal holds ``done`` results (and, if ``in_flight``, a job without one)."""
    deadline = time.monotonic() + 180
    while True:
        entries = journal(out)
        finished = events(entries, "done")
        if len(finished) >= done and (not in_flight or unfinished(entries)):
            break
        assert process.poll() is None, f"the run ended before {done} files were done: {process.communicate()}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.02)
    process.send_signal(signal_number)


def accepted_jobs(gateway: RunningGateway, status: str = "202") -> float:
    """The gateway's count of POST /v1/jobs answered ``status``."""
    text = httpx.get(f"{gateway.url}/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gateway_http_requests_total" and sample.labels == {
                "method": "POST", "route": "/v1/jobs", "status": status
            }:
                return sample.value
    return 0.0


def test_a_tree_killed_interrupted_and_resumed_never_redoes_a_finished_file(gateway: RunningGateway, tmp_path: Path) -> None:
    tree, out = tmp_path / "photos", tmp_path / "anonymised"
    sizes = photo_tree(tree)
    args = command(str(tree), "-o", str(out), "--url", gateway.url, "--concurrency", "2", "--metadata", "--json")

    first = subprocess.Popen(args, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop_when(first, out, 4, signal.SIGKILL, in_flight=True)
    assert first.wait(timeout=30) == -signal.SIGKILL
    first.communicate()
    after_kill = journal(out)
    done_at_kill, in_flight_at_kill = events(after_kill, "done"), unfinished(after_kill)
    assert in_flight_at_kill  # accepted by the gateway, no result yet: the next run must fetch it, not send it again
    outputs_at_kill = {entry["key"]: out / entry["output"] for entry in after_kill if entry["event"] == "done"}
    inodes = {key: (path.stat().st_ino, path.stat().st_mtime_ns) for key, path in outputs_at_kill.items()}

    second = subprocess.Popen(args, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop_when(second, out, len(done_at_kill) + 3, signal.SIGINT)
    stdout, stderr = second.communicate(timeout=60)
    assert second.returncode == 130, stderr
    interrupted = json.loads(stdout)
    assert interrupted["interrupted"] and interrupted["exit_code"] == 130
    assert interrupted["resumed"] == len(done_at_kill) and interrupted["processed"] >= 3
    after_interrupt = journal(out)

    third = subprocess.run(args, cwd=ROOT, text=True, capture_output=True, timeout=300)
    assert third.returncode == 1, third.stderr  # the corrupt file failed
    summary = json.loads(third.stdout)
    done_before = len(events(after_interrupt, "done"))
    assert (summary["files"], summary["succeeded"], summary["failed"], summary["ignored"]) == (20, 19, 1, 1), summary
    assert (summary["resumed"], summary["processed"], summary["not_attempted"]) == (done_before, 19 - done_before, 0)
    [failure] = summary["failures"]
    assert failure["file"].endswith("trip/broken.jpg") and failure["error"] == "corrupt_image", failure
    assert summary["faces"] > 0 and summary["blurred"] >= summary["faces"] and summary["files_per_second"] > 0

    entries = journal(out)
    later = entries[len(after_kill):]
    assert not [entry for entry in later if entry["event"] == "submitted" and entry["key"] in done_at_kill]
    for key, job_id in in_flight_at_kill.items():  # picked up from its job, not sent again
        assert not [entry for entry in later if entry["event"] == "submitted" and entry["key"] == key]
        assert events(entries, "done")[key] == job_id
    for key, path in outputs_at_kill.items():  # not rewritten
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == inodes[key]
    done_at_interrupt = events(after_interrupt, "done")
    assert not [entry for entry in entries[len(after_interrupt):]
                if entry["event"] == "submitted" and entry["key"] in done_at_interrupt]
    assert not list(out.rglob(f"*{PARTIAL_SUFFIX}"))

    for relative, size in sizes.items():
        written = out / (relative[: -len(".bmp")] + ".png" if relative.endswith(".bmp") else relative)
        with Image.open(written) as image:
            assert image.size == size and image.format == PILLOW_FORMATS[written.suffix], written
        assert json.loads(written.with_name(written.name + ".json").read_text())["width"] == size[0]
    assert not (out / "trip" / "broken.jpg").exists() and not (out / "notes.txt").exists()

    before = accepted_jobs(gateway)
    fourth = subprocess.run(args, cwd=ROOT, text=True, capture_output=True, timeout=300)
    assert fourth.returncode == 1
    again = json.loads(fourth.stdout)
    assert (again["resumed"], again["processed"], again["failed"]) == (19, 0, 1)
    sent = [entry for entry in journal(out)[len(entries):] if entry["event"] == "submitted"]
    assert accepted_jobs(gateway) - before == len(sent) <= 1  # only the corrupt file is tried again


def test_text_summary_and_exit_0_when_every_file_succeeds(gateway: RunningGateway, tmp_path: Path) -> None:
    source = tmp_path / "astronaut.png"
    small("astronaut.png", 256).save(source)
    done = subprocess.run(command(str(source), "-o", str(tmp_path / "out"), "--url", gateway.url, "--format", "webp",
                                  "--blur", "pixelate", "--priority", "high"), cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 files: 1 succeeded (1 processed, 0 already done), 0 failed\nfound 1 faces"), done.stdout
    with Image.open(tmp_path / "out" / "astronaut.webp") as image:
        assert image.format == "WEBP"


def test_a_full_queue_is_waited_out_not_counted_as_failures(triton_server: Any, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(6):
        small(PHOTOS[index], 200).save(folder / f"p{index}.png")
    settings = make_settings(tmp_path / "storage", triton_url=triton_server.grpc_url, max_queued_jobs=1, retry_after_s=0)
    gateway = RunningGateway(settings).start()
    try:
        done = subprocess.run(command(str(folder), "-o", str(tmp_path / "out"), "--url", gateway.url, "--concurrency", "4",
                                      "--json"), cwd=ROOT, text=True, capture_output=True, timeout=180)
        refused = accepted_jobs(gateway, "429")
    finally:
        gateway.stop()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["processed"] == 6
    assert refused > 0  # 429 queue_full happened and was retried after Retry-After


@pytest.fixture(scope="module")
def keyed_gateway(triton_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    settings = make_settings(tmp_path_factory.mktemp("keyed"), triton_url=triton_server.grpc_url, api_keys=["s3cret"])
    running = RunningGateway(settings).start()
    yield running
    running.stop()


def test_api_key_from_the_environment_and_a_refused_one_is_a_usage_error(keyed_gateway: RunningGateway, tmp_path: Path) -> None:
    source = tmp_path / "coffee.png"
    small("coffee.png", 200).save(source)
    args = command(str(source), "-o", str(tmp_path / "out"), "--url", keyed_gateway.url)
    refused = subprocess.run(args, cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert refused.returncode == 2 and "refused the API key" in refused.stderr, refused.stderr
    env = {**os.environ, "ANONYMISE_API_KEY": "s3cret"}
    done = subprocess.run(args, cwd=ROOT, text=True, capture_output=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "coffee.png").is_file()


def test_unknown_blur_classes_are_a_usage_error(gateway: RunningGateway, tmp_path: Path) -> None:
    source = tmp_path / "coffee.png"
    small("coffee.png", 200).save(source)
    done = subprocess.run(command(str(source), "-o", str(tmp_path / "out"), "--url", gateway.url, "--blur-classes", "person,cat"),
                          cwd=ROOT, text=True, capture_output=True, timeout=120)
    assert done.returncode == 2 and "--blur-classes cat" in done.stderr, done.stderr
    assert not list((tmp_path / "out").glob("*.png"))


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in S3_CREDENTIALS.items():
            patch.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=(port := free_port()), verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def test_an_s3_prefix_is_read_by_the_gateway_and_mirrored_into_the_output(
    triton_server: Any, s3_endpoint: str, tmp_path: Path
) -> None:
    client = make_s3_client(s3_endpoint, "us-east-1")
    client.create_bucket(Bucket="holiday")
    for key, name in [("2024/a.jpg", "grace_hopper.jpg"), ("2024/beach/b.png", "astronaut.png"), ("2023/c.jpg", "bus.jpg")]:
        buffer = io.BytesIO()
        small(name, 240).save(buffer, format=Image.registered_extensions()[Path(key).suffix])
        client.put_object(Bucket="holiday", Key=key, Body=buffer.getvalue())
    client.close()
    settings = make_settings(tmp_path / "storage", triton_url=triton_server.grpc_url, s3_endpoint_url=s3_endpoint,
                             allowed_buckets=["holiday"])
    gateway = RunningGateway(settings).start()
    try:
        out = tmp_path / "out"
        done = subprocess.run(command("s3://holiday/2024", "-o", str(out), "--url", gateway.url, "--json",
                                      "--s3-endpoint-url", s3_endpoint), cwd=ROOT, text=True, capture_output=True, timeout=180)
    finally:
        gateway.stop()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["succeeded"] == 2
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()) == [
        JOURNAL_NAME, "a.jpg", "beach/b.png",
    ]
    assert set(events(journal(out), "done")) == {"s3://holiday/2024/a.jpg", "s3://holiday/2024/beach/b.png"}
