"""The kustomize base and overlays: they render, validate against the Kubernetes schemas, and
agree with the code (ports, probe paths, settings, consumer groups, partitions, drain times)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from services.api.app import create_app
from services.api.app import main as api_main
from services.enrich.app import EnrichWorker
from services.index.app import IndexWorker
from services.ingest.service import main as ingest_main
from shared import http
from shared.elastic import REQUEST_TIMEOUT_SECONDS
from shared.errors import ConfigurationError
from shared.http import GRACEFUL_SHUTDOWN_SECONDS, operational_router
from shared.settings import ApiSettings, EnrichSettings, IndexSettings, KhabarSettings
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
    "api": GRACEFUL_SHUTDOWN_SECONDS,
    "ingest": GRACEFUL_SHUTDOWN_SECONDS,
    "index": REQUEST_TIMEOUT_SECONDS,
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
    for name in (
        "KHABAR_API_KEYS",
        "KHABAR_KAFKA_USERNAME",
        "KHABAR_KAFKA_PASSWORD",
        "KHABAR_ELASTICSEARCH_API_KEY",
    ):
        monkeypatch.setenv(name, f"a-real-value-from-the-secret-{name.lower()}")
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


def test_the_probe_paths_exist_in_the_apps(tmp_path: Path) -> None:
    fastapi_paths = {route.path for route in operational_router("probe", []).routes}  # type: ignore[attr-defined]
    assert {"/healthz", "/readyz", "/metrics"} <= fastapi_paths
    api_paths = set(create_app(ApiSettings()).openapi()["paths"])
    assert {"/healthz", "/readyz"} <= api_paths
    for worker in _workers(tmp_path):
        assert {"/healthz", "/readyz", "/metrics"} <= set(worker.app.web.views)


def _workers(data_dir: Path, port: int = 0) -> list[EnrichWorker | IndexWorker]:
    common: dict[str, Any] = {"data_dir": data_dir, "trace_store": "none"}
    return [
        EnrichWorker(EnrichSettings(**common, enrich_port=port or 8101)),
        IndexWorker(IndexSettings(**common, index_port=port or 8102)),
    ]


def test_each_process_listens_on_its_port_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the manifests point probes and scrapes at is where each process really listens."""
    listening: dict[str, int] = {}

    def fake_run(app: object, **options: Any) -> None:
        listening[str(getattr(app, "title", ""))] = options["port"]
        assert options["timeout_graceful_shutdown"] == GRACEFUL_SHUTDOWN_SECONDS

    monkeypatch.setattr(http.uvicorn, "run", fake_run)
    monkeypatch.setenv("KHABAR_TRACE_STORE", "none")
    monkeypatch.setenv("KHABAR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KHABAR_API_PORT", "18080")
    monkeypatch.setenv("KHABAR_INGEST_PORT", "18081")
    api_main()
    ingest_main()
    assert listening == {"Khabar API": 18080, "Khabar ingest": 18081}
    assert [worker.app.conf.web_port for worker in _workers(tmp_path, port=18082)] == [18082, 18082]


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
