"""deploy/prometheus and deploy/grafana: the scrape configuration finds the pods of
deploy/kubernetes, the alert rules say what README promises, and every metric the rules, the
dashboard and Triton's autoscaling query name is one the gateway or Triton really exports."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.contracts import TARGET_LABELS, TRITON_GPU_METRICS, TRITON_METRICS, known_metrics, promql_selectors
from tests.deploy.monitoring import PROMETHEUS, ROOT, alert_rules, dashboard, expressions


def test_every_metric_named_is_exported_with_those_labels() -> None:
    known = known_metrics()
    for where, expression in expressions().items():
        assert expression.count("(") == expression.count(")") and expression.count("{") == expression.count("}"), where
        selectors = promql_selectors(expression)
        assert selectors, where
        for name, labels in selectors:
            assert name in known, f"{where}: {name} is not a metric the gateway or Triton exports"
            assert labels <= known[name] | TARGET_LABELS, f"{where}: {name} has no label {labels - known[name]}"


def test_the_metric_check_can_fail() -> None:
    known = known_metrics()
    assert [name for name, _ in promql_selectors('sum(rate(gateway_job_finished_total{state="failed"}[2m]))')] == [
        "gateway_job_finished_total"
    ]
    assert "gateway_job_finished_total" not in known
    assert "gateway_jobs_finished_total" in known and "gateway_http_request_duration_seconds_bucket" in known


def test_alerts_say_what_the_issue_asks() -> None:
    rules = alert_rules()
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
    assert rules["JobQueueDepthHigh"]["expr"].endswith("(gateway_job_queue_depth)) > 800")
    failures = rules["JobFailures"]["expr"]
    assert 'gateway_jobs_finished_total{state="failed"}[2m]' in failures and failures.endswith("> 10")
    assert "* 60 < 20" in rules["ThroughputLow"]["expr"]


def test_the_scrape_configuration_finds_the_pods() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert all((PROMETHEUS / name).is_file() for name in config["rule_files"])
    manifests = {
        item["metadata"]["name"]: item["spec"]["template"]["spec"]
        for path in (ROOT / "deploy" / "kubernetes").glob("*.yaml")
        for item in yaml.safe_load_all(path.read_text())
        if item and item["kind"] == "Deployment"
    }
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"gateway", "triton"}
    for name, job in jobs.items():
        keep = next(rule for rule in job["relabel_configs"] if rule["action"] == "keep")
        label, port = keep["regex"].split(";")
        ports = {port["name"] for container in manifests[label]["containers"] for port in container["ports"]}
        assert label == name and port in ports
        targets = {rule.get("target_label") for rule in job["relabel_configs"]}
        assert TARGET_LABELS - {"job", "instance"} <= targets
    triton_ports = {port["name"]: port["containerPort"] for port in manifests["triton"]["containers"][0]["ports"]}
    assert triton_ports["metrics"] == 8002


def test_the_dashboard_shows_what_the_issue_asks() -> None:
    board = dashboard()
    panels = board["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    titles = {panel["title"] for panel in panels}
    assert {"Throughput", "Latency", "Queue depth", "Success rate", "Time per request by model"} <= titles
    variables = {variable["name"] for variable in board["templating"]["list"] if variable["type"] == "datasource"}
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["datasource"]["uid"].strip("${}") in variables
        grid = panel["gridPos"]
        area = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert grid["x"] + grid["w"] <= 24 and not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area


@pytest.mark.server
def test_triton_exports_the_metrics_named(triton_server: Any) -> None:
    """A real Triton's /metrics, after one request, carries every nv_* name the deployment uses."""
    import io

    import numpy as np
    import tritonclient.grpc as grpcclient
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(photo, format="PNG")
    client = grpcclient.InferenceServerClient(triton_server.grpc_url)
    image = grpcclient.InferInput("IMAGE", [1, 1], "BYTES")
    image.set_data_from_numpy(np.array([[photo.getvalue()]], dtype=np.object_))
    client.infer("pipeline", [image])
    with urllib.request.urlopen(triton_server.metrics_url, timeout=10) as answer:
        exported = answer.read().decode()
    families = {line.split()[2] for line in exported.splitlines() if line.startswith("# TYPE ")}
    used = {name for expression in expressions().values() for name, _ in promql_selectors(expression)}
    assert {name for name in used if name.startswith("nv_")} - set(TRITON_GPU_METRICS) <= families
    assert set(TRITON_METRICS) - {"nv_inference_request_failure"} <= families
    assert 'nv_inference_queue_duration_us{model="pipeline",version="1"}' in exported


@pytest.fixture(scope="module")
def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus); the checks above still ran")
    return binary


def test_promtool_unit_tests_of_the_alerts(promtool: str) -> None:
    """deploy/prometheus/alerts.test.yml: each alert fires on synthetic series and stays quiet below its threshold."""
    result = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parses_every_expression(promtool: str, tmp_path: Path) -> None:
    """The dashboard's and KEDA's queries, parsed by Prometheus' own PromQL parser (as recording rules)."""
    rules = [
        {"record": f"check:expression_{index}", "expr": expression}
        for index, expression in enumerate(expressions().values())
    ]
    path = tmp_path / "expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "expressions", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(
        yaml.safe_dump({"groups": [{"name": "broken", "rules": [{"record": "check:x", "expr": "sum(rate(x[5m])"}]}]})
    )
    assert subprocess.run([promtool, "check", "rules", str(broken)], capture_output=True, timeout=60).returncode != 0


def test_compose_monitoring_scrapes_the_compose_services() -> None:
    """compose.yaml's `monitoring` profile: the same jobs and rules as in Kubernetes, static targets
    that are compose services on their metrics ports, and Grafana reading that Prometheus."""
    from tests.deploy.compose_files import load

    services = load("compose.yaml")["services"]
    compose = yaml.safe_load((PROMETHEUS / "prometheus.compose.yml").read_text())
    kubernetes = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert compose["rule_files"] == kubernetes["rule_files"]
    assert {job["job_name"] for job in compose["scrape_configs"]} == {
        job["job_name"] for job in kubernetes["scrape_configs"]
    }
    ports = {"gateway": services["gateway"]["environment"]["GATEWAY_PORT"], "triton": "8002"}
    for job in compose["scrape_configs"]:
        (static,) = job["static_configs"]
        assert static["targets"] == [f"{job['job_name']}:{ports[job['job_name']]}"]
        assert set(static["labels"]) == TARGET_LABELS - {"job", "instance"}
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            assert not source.startswith(".") or (ROOT / source).exists(), volume
    mounts = dict(volume.split(":")[:2] for volume in services["prometheus"]["volumes"])
    assert mounts["./deploy/prometheus/prometheus.compose.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./deploy/prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"


def test_promtool_accepts_the_compose_prometheus_configuration(promtool: str) -> None:
    """(Debian's promtool is built without Kubernetes discovery, so prometheus.yml is checked above only.)"""
    result = subprocess.run(
        [promtool, "check", "config", "prometheus.compose.yml"],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
