"""What the deployment files must agree with in the code: the gateway's settings, the flags the
launcher starts Triton with, and the metric names the gateway and Triton export."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from unittest import mock

from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

from gateway.core.config import Settings
from gateway.core.metrics import GatewayMetrics
from triton_launcher import ServerConfig

# Triton 2.51's per-model metrics (docs/user_guide/metrics.md of the server; each is also checked
# against a running server by test_monitoring.py) and the GPU ones, exported only where a GPU is.
TRITON_METRICS = {
    "nv_inference_request_success": {"model", "version"},
    "nv_inference_request_failure": {"model", "version", "reason"},
    "nv_inference_count": {"model", "version"},
    "nv_inference_exec_count": {"model", "version"},
    "nv_inference_pending_request_count": {"model", "version"},
    "nv_inference_request_duration_us": {"model", "version"},
    "nv_inference_queue_duration_us": {"model", "version"},
    "nv_inference_compute_input_duration_us": {"model", "version"},
    "nv_inference_compute_infer_duration_us": {"model", "version"},
    "nv_inference_compute_output_duration_us": {"model", "version"},
}
TRITON_GPU_METRICS = {
    "nv_gpu_utilization": {"gpu_uuid"},
    "nv_gpu_memory_used_bytes": {"gpu_uuid"},
    "nv_gpu_memory_total_bytes": {"gpu_uuid"},
    "nv_gpu_power_usage": {"gpu_uuid"},
}
# Prometheus' own series and the labels its scrape configuration adds to every series.
PROMETHEUS_METRICS: dict[str, set[str]] = {"up": set()}
TARGET_LABELS = {"job", "instance", "namespace", "pod"}


def gateway_settings_from(environment: Mapping[str, str]) -> Settings:
    """The gateway's Settings as a process with exactly ``environment`` would read them."""
    with mock.patch.dict(os.environ, {name: str(value) for name, value in environment.items()}, clear=True):
        return Settings()


def launcher_flags() -> list[str]:
    """The tritonserver flags (besides paths and ports) `make run`'s launcher passes by default."""
    config = ServerConfig()
    flags = [f"--model-control-mode={config.model_control}", f"--exit-timeout-secs={config.exit_timeout_s}"]
    flags += [f"--load-model={name}" for name in config.load_models]
    if config.model_config_name:
        flags.append(f"--model-config-name={config.model_config_name}")
    return flags


def _sample_names(family: Metric) -> set[str]:
    """The series names one metric family exposes (counters gain _total, histograms _bucket...)."""
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_count", "_sum"),
        "summary": ("_count", "_sum"),
    }.get(family.type, ("",))
    return {family.name + suffix for suffix in suffixes}


def gateway_metrics() -> dict[str, set[str]]:
    """Every series name the gateway's /metrics can expose, with its label names."""
    metrics = GatewayMetrics()
    known: dict[str, set[str]] = {}
    for collector in vars(metrics).values():
        if not isinstance(collector, MetricWrapperBase):
            continue
        # prometheus_client has no public accessor for a metric's label names before it has samples.
        labels = set(collector._labelnames)
        for family in collector.describe():
            for name in _sample_names(family):
                known[name] = labels | ({"le"} if name.endswith("_bucket") else set())
    for family in metrics.registry.collect():  # collectors that are no attribute: labels from their samples
        for name in _sample_names(family) - set(known):
            known[name] = {label for sample in family.samples for label in sample.labels}
    return known


def known_metrics() -> dict[str, set[str]]:
    """Gateway, Triton (CPU and GPU) and Prometheus series names, each with its label names."""
    return {**gateway_metrics(), **TRITON_METRICS, **TRITON_GPU_METRICS, **PROMETHEUS_METRICS}


_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}")
_IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_:.])([A-Za-z_:][A-Za-z0-9_:]*)(?![A-Za-z0-9_:])(?!\s*\()")


def promql_selectors(expression: str) -> list[tuple[str, set[str]]]:
    """(metric name, label names matched in its braces) for every series selector in a PromQL
    expression: functions, keywords, durations and grouping labels are not selectors."""
    text = _STRING.sub('""', expression)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    selectors: list[tuple[str, set[str]]] = []

    def braces(match: re.Match[str]) -> str:
        labels = {
            part.split("=")[0].split("!")[0].split("~")[0].strip() for part in match[2].split(",") if part.strip()
        }
        selectors.append((match[1] or "", labels))
        return " "

    text = _SELECTOR.sub(braces, text)
    for name in _IDENTIFIER.findall(text):
        if name.lower() not in _KEYWORDS and not re.fullmatch(r"[0-9.e+-]+", name):
            selectors.append((name, set()))
    return selectors
