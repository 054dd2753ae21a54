"""The PromQL of the deployment: alert rules, dashboard panels and KEDA's Prometheus query."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "photo-anonymiser.json"


def alert_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def expressions() -> dict[str, str]:
    """Every PromQL expression of the deployment, by where it is written."""
    found = {f"alert {name}": rule["expr"] for name, rule in alert_rules().items()}
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            found[f"panel {panel['title']} {target['refId']}"] = target["expr"]
    for item in yaml.safe_load_all((ROOT / "deploy" / "keda" / "triton-scaledobject.yaml").read_text()):
        for trigger in item["spec"]["triggers"]:
            found[f"keda {item['metadata']['name']} {trigger['name']}"] = trigger["metadata"]["query"]
    return found
