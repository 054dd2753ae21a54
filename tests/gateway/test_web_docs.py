"""/docs (Swagger UI) and /redoc render in a real headless Chromium with every request on loopback
(their scripts come from an installed package, not a CDN), and the page loads with no failed
request (favicon included). No Triton needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.gateway.browser import blocked_by_policy, chromium, failed_responses, network, off_loopback, requested_urls
from tests.gateway.conftest import GatewayFactory, RunningGateway


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from chromium(tmp_path_factory.mktemp("downloads"))


@pytest.fixture(scope="module")
def gateway(gateway_factory: GatewayFactory) -> RunningGateway:
    return gateway_factory()


def visible(session: Any, selector: str, timeout_s: float = 20) -> Any:
    return WebDriverWait(session, timeout_s).until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, selector)))


def test_swagger_ui_renders_from_loopback_only(browser: Any, gateway: RunningGateway) -> None:
    network(browser)
    browser.get(f"{gateway.url}/docs")
    assert "Photo anonymisation gateway" in visible(browser, ".swagger-ui .info .title").text
    operations = WebDriverWait(browser, 20).until(lambda session: session.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    assert "/v1/jobs/{job_id}/preview" in {element.get_attribute("data-path") for element in operations}
    events = network(browser)
    urls = requested_urls(events)
    assert f"{gateway.url}/assets/swagger-ui-bundle.js" in urls and f"{gateway.url}/openapi.json" in urls
    assert off_loopback(events, gateway.url) == []
    assert failed_responses(events) == []


def test_redoc_renders_from_loopback_only(browser: Any, gateway: RunningGateway) -> None:
    network(browser)
    browser.get(f"{gateway.url}/redoc")
    assert "Photo anonymisation gateway" in visible(browser, ".api-info h1").text
    assert visible(browser, "[data-section-id^='tag/jobs']")
    events = network(browser)
    assert f"{gateway.url}/assets/redoc.standalone.js" in requested_urls(events)
    assert off_loopback(events, gateway.url) == []
    assert blocked_by_policy(events) <= 1  # ReDoc's hard-coded logo (cdn.redoc.ly), refused by the page's policy


def test_the_page_loads_its_assets_and_favicon_without_a_404(browser: Any, gateway: RunningGateway) -> None:
    network(browser)
    browser.get(f"{gateway.url}/")
    visible(browser, "#drop")
    icon = browser.execute_async_script(
        "const done = arguments[0];"
        "fetch(document.querySelector('link[rel=icon]').href).then((reply) => done([reply.status, reply.headers.get('content-type')]));"
    )
    favicon = browser.execute_async_script("fetch('/favicon.ico').then((reply) => arguments[0](reply.status));")
    events = network(browser)
    assert {f"{gateway.url}/assets/app.js", f"{gateway.url}/assets/style.css"} <= set(requested_urls(events))
    assert failed_responses(events) == [] and off_loopback(events, gateway.url) == []
    assert icon == [200, "image/svg+xml"] and favicon == 200
    assert browser.find_element(By.ID, "submit").get_attribute("disabled") is not None  # nothing chosen yet
    assert [box.get_attribute("value") for box in browser.find_elements(By.CSS_SELECTOR, "#toggles input")] == ["face", "license_plate"]


def test_only_named_assets_are_served(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        unknown = client.get("/assets/index.html")
        beside = client.get("/assets/..%2Fpreviews.py")
        script = client.get("/assets/app.js")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    assert beside.status_code == 404
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")


def test_the_page_and_docs_may_load_nothing_from_elsewhere(gateway: RunningGateway) -> None:
    with gateway.client() as client:
        policies = {path: client.get(path).headers["content-security-policy"] for path in ("/", "/docs", "/redoc")}
    for path, policy in policies.items():
        assert policy.startswith("default-src 'self'") and "http" not in policy, path
    assert "unsafe-inline" not in policies["/"]  # the page runs no inline script
