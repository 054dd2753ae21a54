"""The upload page in a real headless Chromium, against the gateway over HTTP in front of the real
Triton: three photos at once (JPEG with faces, JPEG 2000, BMP), a progress row each driven by the
event stream, previews of the JPEG 2000 through the PNG preview route, boxes drawn over the
original (checked in a screenshot's pixels) with toggles per source, and downloads named after
the original with the result's extension."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.conftest import REPOSITORY
from tests.gateway.browser import chromium, network, off_loopback, requested_urls
from tests.gateway.conftest import GatewayFactory, RunningGateway
from tests.imaging.conftest import pillow_bytes
from tests.photos import photo_bytes, photo_pixels

pytestmark = pytest.mark.server

MAGENTA = (255, 0, 255)  # faces' boxes (app.js COLOURS)
# Every state change of a row, recorded in the page (the test's only instrument).
RECORD_STATES = """
window.seenStates = {};
new MutationObserver((changes) => { for (const change of changes) {
  const row = change.target, name = row.querySelector('.name').textContent;
  (window.seenStates[name] ||= []).push(row.dataset.state);
} }).observe(document.getElementById('jobs'), { attributes: true, attributeFilter: ['data-state'], subtree: true });
"""


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator[Any]:
    yield from chromium(downloads)


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory, triton_server: Any) -> RunningGateway:
    return gateway_factory(triton_url=triton_server.grpc_url, model_repository=REPOSITORY)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("photos")
    files = {
        "zidane.jpg": photo_bytes("zidane.jpg"),
        "astronaut.jp2": pillow_bytes(photo_pixels("astronaut.png"), "JPEG2000", irreversible=True, quality_mode="rates", quality_layers=[20]),
        "bus.bmp": pillow_bytes(photo_pixels("bus.jpg"), "BMP"),
    }
    for name, payload in files.items():
        (folder / name).write_bytes(payload)
    return [folder / name for name in files]


@pytest.fixture(scope="module")
def page(browser: Any, gateway: RunningGateway, photos: list[Path]) -> dict[str, Any]:
    """The page after all three photos were submitted at once and every row finished."""
    browser.get(f"{gateway.url}/")
    network(browser)
    browser.execute_script(RECORD_STATES)
    browser.find_element(By.ID, "files").send_keys("\n".join(str(path) for path in photos))
    submit = browser.find_element(By.ID, "submit")
    assert submit.is_enabled()
    submit.click()
    disabled_at_once = not submit.is_enabled()
    started = time.monotonic()
    WebDriverWait(browser, 180, poll_frequency=0.2).until(lambda session: submit.is_enabled())
    rows = {row.find_element(By.CLASS_NAME, "name").text: row for row in browser.find_elements(By.CSS_SELECTOR, "#jobs .job")}
    return {"rows": rows, "disabled_at_once": disabled_at_once, "seconds": time.monotonic() - started,
            "states": browser.execute_script("return window.seenStates"), "network": network(browser),
            "console": [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]}


def job_of(gateway: RunningGateway, row: Any) -> dict[str, Any]:
    with gateway.client() as client:
        return dict(client.get(f"/v1/jobs/{row.get_attribute('data-job-id')}").json())


def test_each_photo_gets_a_row_driven_by_the_event_stream(page: dict[str, Any], gateway: RunningGateway) -> None:
    rows = page["rows"]
    assert set(rows) == {"zidane.jpg", "astronaut.jp2", "bus.bmp"}
    assert page["disabled_at_once"], "the submit button stays enabled while the photos run"
    for name, row in rows.items():
        states = page["states"][name]
        assert row.get_attribute("data-state") == "succeeded", (name, row.find_element(By.CLASS_NAME, "status").text)
        assert states[0] == "uploading" and states[-2:] == ["loading", "succeeded"], (name, states)
        assert set(states) <= {"uploading", "queued", "running", "loading", "succeeded"}, states
        assert row.find_element(By.TAG_NAME, "progress").get_attribute("value") == "100"
        assert "face(s)" in row.find_element(By.CLASS_NAME, "status").text
    job_ids = sorted(row.get_attribute("data-job-id") for row in rows.values())
    streams = [url for url in requested_urls(page["network"]) if "/v1/events?job_id=" in url]
    assert len(streams) == 1 and sorted(streams[0].split("job_id=")[1].split(",")) == job_ids
    assert off_loopback(page["network"], gateway.url) == []
    assert page["console"] == []  # no script error, no failed request


def test_jpeg2000_is_shown_through_png_previews(page: dict[str, Any], browser: Any) -> None:
    urls = requested_urls(page["network"])
    jp2, jpeg = page["rows"]["astronaut.jp2"], page["rows"]["zidane.jpg"]
    for of in ("original", "result"):
        assert any(f"/v1/jobs/{jp2.get_attribute('data-job-id')}/preview?of={of}" in url for url in urls), of
    assert not any(f"/v1/jobs/{jpeg.get_attribute('data-job-id')}/preview" in url for url in urls)
    for row in page["rows"].values():
        for image in row.find_elements(By.CSS_SELECTOR, ".frame img"):
            assert browser.execute_script("return arguments[0].naturalWidth", image) > 0


def test_boxes_are_drawn_over_the_original_and_toggled_per_source(
    page: dict[str, Any], browser: Any, gateway: RunningGateway, tmp_path: Path
) -> None:
    row = page["rows"]["zidane.jpg"]
    metadata = job_of(gateway, row)["metadata"]
    boxes = row.find_elements(By.CSS_SELECTOR, ".box")
    assert len(row.find_elements(By.CSS_SELECTOR, ".box[data-source='face']")) == len(metadata["faces"]) >= 2
    uncertain = sum(region["uncertain"] for region in metadata["faces"] + metadata["detections"])
    assert len(row.find_elements(By.CSS_SELECTOR, ".box.uncertain")) == uncertain >= 1  # zidane: one face at 0.37
    assert len(boxes) == len(metadata["faces"]) + len(metadata["detections"])
    face = row.find_element(By.CSS_SELECTOR, ".box[data-source='face']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", face)
    where = rect(browser, face)
    shown = screenshot(browser, tmp_path / "boxes.png")
    assert border_share(shown, where, MAGENTA) > 0.9
    toggle = browser.find_element(By.CSS_SELECTOR, "#toggles input[value='face']")
    toggle.click()
    hidden = screenshot(browser, tmp_path / "faces-hidden.png")
    assert not face.is_displayed() and border_share(hidden, where, MAGENTA) < 0.1
    toggle.click()
    assert face.is_displayed()


def test_downloads_keep_the_name_with_the_result_extension(page: dict[str, Any], downloads: Path, gateway: RunningGateway) -> None:
    for name, expected, size in (("bus.bmp", "bus.png", (810, 1080)), ("astronaut.jp2", "astronaut.jp2", (512, 512))):
        row = page["rows"][name]
        row.find_element(By.CLASS_NAME, "download").click()
        saved = downloads / expected
        deadline = time.monotonic() + 20
        while not saved.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with gateway.client() as client:
            result = client.get(f"/v1/jobs/{row.get_attribute('data-job-id')}/result").content
        assert saved.read_bytes() == result, sorted(path.name for path in downloads.iterdir())
        with Image.open(saved) as image:
            assert image.size == size


DROP = """
const transfer = new DataTransfer();
for (const [name, encoded] of arguments[0]) {
  transfer.items.add(new File([Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0))], name));
}
document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
"""


def test_dropped_photos_run_with_the_api_key_sent_on_every_call(
    browser: Any, gateway_factory: GatewayFactory, triton_server: Any, photos: list[Path]
) -> None:
    """Without the key a row fails naming the 401; with it, the upload, the event stream (fetch,
    not EventSource, which cannot send headers), the job, the result and the boxes all work. This
    gateway keeps no original: the JPEG 2000's row says so and still shows its result."""
    locked = gateway_factory(triton_url=triton_server.grpc_url, model_repository=REPOSITORY, api_keys=["s3cret"], keep_originals_s=0)
    browser.get(f"{locked.url}/")
    dropped = [(path.name, base64.b64encode(path.read_bytes()).decode()) for path in photos if path.suffix in (".jpg", ".jp2")]
    browser.execute_script(DROP, dropped)
    assert browser.find_element(By.ID, "chosen").text == "zidane.jpg, astronaut.jp2"
    submit = browser.find_element(By.ID, "submit")
    submit.click()
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda session: submit.is_enabled())
    refused = browser.find_elements(By.CSS_SELECTOR, "#jobs .job")
    assert [row.get_attribute("data-state") for row in refused] == ["failed", "failed"]
    assert all("401 unauthorized" in row.find_element(By.CLASS_NAME, "status").text for row in refused)
    browser.find_element(By.ID, "api_key").send_keys("s3cret")
    submit.click()
    WebDriverWait(browser, 120, poll_frequency=0.2).until(lambda session: submit.is_enabled())
    rows = {row.find_element(By.CLASS_NAME, "name").text: row for row in browser.find_elements(By.CSS_SELECTOR, "#jobs .job")[:2]}
    assert {row.get_attribute("data-state") for row in rows.values()} == {"succeeded"}
    assert len(rows["zidane.jpg"].find_elements(By.CSS_SELECTOR, ".box[data-source='face']")) >= 2
    jp2 = rows["astronaut.jp2"]
    assert "Original not shown: 404 source_not_found" in jp2.find_element(By.CLASS_NAME, "original-caption").text
    assert browser.execute_script("return arguments[0].naturalWidth", jp2.find_element(By.CSS_SELECTOR, "img.result")) == 512
    assert jp2.find_element(By.CLASS_NAME, "download").is_displayed()


def screenshot(browser: Any, path: Path) -> np.ndarray:
    """The viewport, saved to ``path`` and returned as RGB pixels."""
    png = browser.get_screenshot_as_png()
    path.write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def rect(browser: Any, element: Any) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of ``element`` in viewport pixels (device scale factor 1)."""
    box = browser.execute_script("return arguments[0].getBoundingClientRect()", element)
    return round(box["left"]), round(box["top"]), round(box["right"]), round(box["bottom"])


def border_share(pixels: np.ndarray, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> float:
    """The share of the box's top and left border pixels (1 px inside its edge) near ``colour``."""
    left, top, right, bottom = box
    border = np.concatenate([pixels[top + 1, left + 4 : right - 4], pixels[top + 4 : bottom - 4, left + 1]])
    return float((np.abs(border.astype(int) - colour).max(axis=1) < 40).mean())
