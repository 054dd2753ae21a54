"""Debian's headless Chromium driven by selenium (chromedriver from the `chromium-driver` package;
`.ci/run` installs both when missing). Tests skip only where neither is installed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1400,1000", "--force-device-scale-factor=1",
)


def chromium(downloads: Path) -> Iterator[Any]:
    """A headless Chromium whose network log is kept and whose downloads land in ``downloads``."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield session
    finally:
        session.quit()


def network(session: Any) -> list[dict[str, Any]]:
    """The Chrome DevTools network events since the last call (requests sent, responses received)."""
    events = (json.loads(entry["message"])["message"] for entry in session.get_log("performance"))
    return [event for event in events if event["method"].startswith("Network.")]


def requested_urls(events: list[dict[str, Any]]) -> list[str]:
    return [event["params"]["request"]["url"] for event in events if event["method"] == "Network.requestWillBeSent"]


def failed_responses(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    answers = (event["params"]["response"] for event in events if event["method"] == "Network.responseReceived")
    return [(answer["url"], answer["status"]) for answer in answers if answer["status"] >= 400]


def off_loopback(events: list[dict[str, Any]], base: str) -> list[str]:
    """URLs of requests that left the gateway at ``base`` (data: and blob: stay in the page; a
    request the page's Content-Security-Policy blocked was never sent)."""
    blocked = {event["params"]["requestId"] for event in events
               if event["method"] == "Network.loadingFailed" and event["params"].get("blockedReason") == "csp"}
    return [event["params"]["request"]["url"] for event in events
            if event["method"] == "Network.requestWillBeSent" and event["params"]["requestId"] not in blocked
            and not event["params"]["request"]["url"].startswith((base + "/", "data:", "blob:"))]


def blocked_by_policy(events: list[dict[str, Any]]) -> int:
    return sum(event["method"] == "Network.loadingFailed" and event["params"].get("blockedReason") == "csp" for event in events)
