"""The kustomize base and overlays: they render, validate against the Kubernetes schemas, and
agree with the code (ports, probe paths, settings, consumer groups, partitions, drain times)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.api.app import create_app
from shared.errors import ConfigurationError
from shared.http import operational_router
from shared.settings import ApiSettings, KhabarSettings
from shared.streaming import app_id
from shared.topics import Topics
from tests.unit.deploy.conftest import (
    IMAGE_ONLY_VARIABLES,
    K8S,
    OVERLAYS,
    ROOT,
    SERVICE_SETTINGS,
    all_setting_variables,
    container,
    deployments,
    setting_variables,
)
from tests.unit.deploy.kustomize import Resource, render

KUBERNETES_VERSION = "1.32.0"  # oldest minor still supported upstream when this was written
# Seconds a service may need after SIGTERM before it has drained, read from the code where the
# code sets it: uvicorn's graceful shutdown (api, ingest), the Elasticsearch client's request
# timeout for an in-flight bulk (index); enrich finishes one article (capped input), flushes its
# producer and commits, which takes seconds.
DRAIN_SECONDS = {
    "api": int(
        re.search(r"timeout_graceful_shutdown=(\d+)", (ROOT / "services/api/app.py").read_text())[1]
    ),  # type: ignore[index]
    "ingest": int(
        re.search(
            r"timeout_graceful_shutdown=(\d+)", (ROOT / "services/ingest/service.py").read_text()
        )[1]
    ),  # type: ignore[index]
    "index": int(
        re.search(r'"request_timeout": (\d+)', (ROOT / "shared/elastic.py").read_text())[1]
    ),  # type: ignore[index]
    "enrich": 10,
}


def _key(resource: Resource) -> tuple[str, str]:
    return resource["kind"], resource["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_the_whole_chain(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[overlay]
    assert set(deployments(resources)) == set(SERVICE_SETTINGS)
    kinds = {r["kind"] for r in resources}
    assert {"Namespace", "ConfigMap", "Service", "PodDisruptionBudget"} <= kinds
    assert len({_key(r) for r in resources}) == len(resources), "duplicate resources"
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"].get("namespace") == "khabar", _key(resource)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_renderer_agrees_with_kubectl_kustomize(
    overlay: str, rendered: dict[str, list[Resource]]
) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed; the Python renderer alone checks the overlays")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S / overlay)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    theirs = sorted((d for d in yaml.safe_load_all(result.stdout) if d), key=_key)
    assert sorted(rendered[overlay], key=_key) == theirs


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_manifests_follow_the_kubernetes_schemas(
    overlay: str, rendered: dict[str, list[Resource]]
) -> None:
    errors = []
    for resource in rendered[overlay]:
        if resource["apiVersion"].startswith("keda.sh/"):
            continue  # a CRD: checked against the code in test_keda_scaler_matches_the_code
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{_key(resource)}: {'/'.join(map(str, exc.path))}: {exc.message}")
    assert errors == []


def test_a_broken_manifest_is_caught() -> None:
    """The validator really validates: an unknown field and a wrong type both fail."""
    deployment = deployments(render(K8S / "base"))["api"]
    container(deployment)["readinessProbe"]["httpGet"]["paht"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment = deployments(render(K8S / "base"))["api"]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_is_declared_for_every_service(
    overlay: str, rendered: dict[str, list[Resource]]
) -> None:
    config = next(r for r in rendered[overlay] if _key(r) == ("ConfigMap", "khabar-config"))
    for service, deployment in deployments(rendered[overlay]).items():
        spec = container(deployment)
        assert {"configMapRef": {"name": "khabar-config"}} in spec["envFrom"]
        declared = set(config["data"]) | {item["name"] for item in spec.get("env", [])}
        assert setting_variables(SERVICE_SETTINGS[service]) - declared == set(), service
        stale = {v for v in declared if v not in all_setting_variables() | IMAGE_ONLY_VARIABLES}
        assert stale == set(), service


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_configmap_boots_the_service_in_production(
    service: str, rendered: dict[str, list[Resource]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap plus the documented Secret keys are accepted by the settings class."""
    config = next(r for r in rendered["overlays/prod"] if r["kind"] == "ConfigMap")
    for name in [k for k in os.environ if k.startswith("KHABAR_")]:
        monkeypatch.delenv(name)
    for name, value in config["data"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KHABAR_API_KEYS", "a-real-key-from-the-secret")
    try:
        settings = SERVICE_SETTINGS[service]()
    except ConfigurationError as exc:
        pytest.fail(f"{service} refuses the ConfigMap: {exc}")
    assert settings.environment == "production"
    assert getattr(settings, f"{service}_port") == int(
        config["data"][f"KHABAR_{service.upper()}_PORT"]
    )


def test_secrets_are_referenced_never_stored_in_the_base(
    rendered: dict[str, list[Resource]],
) -> None:
    assert not [r for r in rendered["overlays/prod"] if r["kind"] == "Secret"]
    secret_fields = {
        f"KHABAR_{name.upper()}"
        for cls in SERVICE_SETTINGS.values()
        for name, field in cls.model_fields.items()
        if "SecretStr" in repr(field.annotation)
    }
    api = container(deployments(rendered["overlays/prod"])["api"])
    refs = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in api["env"]
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    assert secret_fields <= set(refs)
    assert refs["KHABAR_API_KEYS"]["optional"] is False, "production refuses to start without keys"
    dev_secret = next(r for r in rendered["overlays/dev"] if r["kind"] == "Secret")
    assert "KHABAR_API_KEYS" in dev_secret["data"]


def _service_port_setting(service: str) -> int:
    default = SERVICE_SETTINGS[service].model_fields[f"{service}_port"].default
    assert isinstance(default, int)
    return default


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_ports_and_probes_match_the_code(service: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered["overlays/prod"]
    deployment = deployments(resources)[service]
    spec = container(deployment)
    port = _service_port_setting(service)
    assert spec["ports"] == [{"name": "http", "containerPort": port}]
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    assert spec["args"] == ["serve", service]
    svc = next(r for r in resources if _key(r) == ("Service", f"khabar-{service}"))
    assert svc["spec"]["ports"][0]["port"] == port
    assert svc["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    # the process listens on that setting
    source = (
        ROOT
        / {
            "api": "services/api/app.py",
            "ingest": "services/ingest/service.py",
            "enrich": "services/enrich/app.py",
            "index": "services/index/app.py",
        }[service]
    ).read_text()
    assert f"settings.{service}_port" in source


def test_the_probe_paths_exist_in_the_apps() -> None:
    fastapi_paths = {route.path for route in operational_router("probe", []).routes}  # type: ignore[attr-defined]
    assert {"/healthz", "/readyz", "/metrics"} <= fastapi_paths
    api_paths = set(create_app(ApiSettings()).openapi()["paths"])
    assert {"/healthz", "/readyz"} <= api_paths
    # faust services register their pages in shared.streaming.make_app
    tree = ast.parse((ROOT / "shared/streaming.py").read_text())
    pages = {
        decorator.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call)
        and getattr(decorator.func, "attr", "") == "page"
        and isinstance(decorator.args[0], ast.Constant)
    }
    assert {"/healthz", "/readyz", "/metrics"} <= pages


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_grace_period_covers_the_drain_time(
    service: str, rendered: dict[str, list[Resource]]
) -> None:
    deployment = deployments(rendered["overlays/prod"])[service]
    pod = deployment["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0].get("lifecycle", {}).get("preStop", {})
    pre_stop_seconds = int(pre_stop["exec"]["command"][1]) if pre_stop else 0
    assert pod["terminationGracePeriodSeconds"] > DRAIN_SECONDS[service] + pre_stop_seconds


def test_pods_run_as_the_image_user(rendered: dict[str, list[Resource]]) -> None:
    uid = re.search(r"^USER (\d+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert uid is not None
    for deployment in deployments(rendered["overlays/prod"]).values():
        security = deployment["spec"]["template"]["spec"]["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == int(uid[1])
        assert container(deployment)["securityContext"]["readOnlyRootFilesystem"] is True


def _partitions(resources: list[Resource]) -> int:
    config = next(r for r in resources if r["kind"] == "ConfigMap")
    return int(config["data"]["KHABAR_TOPIC_PARTITIONS"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumers_never_outnumber_partitions(
    overlay: str, rendered: dict[str, list[Resource]]
) -> None:
    resources = rendered[overlay]
    partitions = _partitions(resources)
    for service in ("enrich", "index"):
        assert deployments(resources)[service]["spec"].get("replicas", 1) <= partitions
    for resource in resources:
        if resource["kind"] == "HorizontalPodAutoscaler":
            assert resource["spec"]["maxReplicas"] <= partitions
        if resource["kind"] == "ScaledObject":
            assert resource["spec"]["maxReplicaCount"] <= partitions


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scalers_and_budgets_point_at_real_deployments(
    overlay: str, rendered: dict[str, list[Resource]]
) -> None:
    resources = rendered[overlay]
    names = {r["metadata"]["name"] for r in resources if r["kind"] == "Deployment"}
    scalers = [r for r in resources if r["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")]
    assert len([s for s in scalers if s["spec"]["scaleTargetRef"]["name"] == "khabar-enrich"]) == 1
    for scaler in scalers:
        assert scaler["spec"]["scaleTargetRef"]["name"] in names
    for budget in (r for r in resources if r["kind"] == "PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(
            selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
            for d in resources
            if d["kind"] == "Deployment"
        )


def test_keda_scaler_matches_the_code(rendered: dict[str, list[Resource]]) -> None:
    resources = rendered["overlays/prod-keda"]
    scaled = next(r for r in resources if r["kind"] == "ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert not [r for r in resources if r["kind"] == "HorizontalPodAutoscaler"]
    config = next(r for r in resources if r["kind"] == "ConfigMap")["data"]
    trigger: dict[str, Any] = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "kafka"
    settings = KhabarSettings(
        topic_prefix=config["KHABAR_TOPIC_PREFIX"], kafka_bootstrap=config["KHABAR_KAFKA_BOOTSTRAP"]
    )
    assert trigger["metadata"]["consumerGroup"] == app_id("enrich", settings)
    assert trigger["metadata"]["topic"] == Topics(settings.topic_prefix).raw
    assert trigger["metadata"]["bootstrapServers"] == settings.kafka_bootstrap
