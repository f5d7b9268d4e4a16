"""The container image and every image reference: multi-stage, non-root, healthcheck, pinned."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import pytest

from tests.unit.deploy.conftest import OVERLAYS, ROOT, container, deployments
from tests.unit.deploy.kustomize import Resource

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def pinned(reference: str) -> bool:
    """True for ``name@sha256:…`` or ``name:tag`` with a tag other than ``latest``."""
    if "@sha256:" in reference:
        return True
    name, _, tag = reference.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("apache/kafka:3.9.1", True),
        ("registry:5000/khabar@sha256:" + "a" * 64, True),
        ("grafana/grafana:latest", False),
        ("grafana/grafana", False),
        ("registry:5000/khabar", False),
    ],
)
def test_pinned_tells_pinned_from_floating(reference: str, expected: bool) -> None:
    assert pinned(reference) is expected


def test_compose_images_are_pinned(compose_file: dict[str, Any]) -> None:
    images = [s["image"] for s in compose_file["services"].values() if "image" in s]
    assert images and [image for image in images if not pinned(image)] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_images_are_pinned(overlay: str, rendered: dict[str, list[Resource]]) -> None:
    images = [container(d)["image"] for d in deployments(rendered[overlay]).values()]
    assert len(images) == 4 and [image for image in images if not pinned(image)] == []


def test_dockerfile_base_images_are_pinned() -> None:
    bases = re.findall(r"^FROM\s+(\S+)", DOCKERFILE, re.MULTILINE)
    assert len(bases) >= 2, "multi-stage: a build stage and a small final stage"
    assert [base for base in bases if not pinned(base)] == []


def test_final_stage_is_small_and_non_root() -> None:
    final = DOCKERFILE.split("\nFROM ")[-1]
    assert "gcc" not in final and "COPY --from=build" in final
    user = re.search(r"^USER (\d+)(?::(\d+))?$", final, re.MULTILINE)
    assert user is not None and int(user[1]) != 0, "a numeric non-root uid"
    assert re.search(r"^HEALTHCHECK .*", final, re.MULTILINE)
    assert "/healthz" in final and "KHABAR_HEALTH_PORT" in final
    assert re.search(r'^ENTRYPOINT \["khabar"\]', final, re.MULTILINE)


def test_runtime_dependencies_are_pinned_for_the_image() -> None:
    """deploy/constraints.txt pins every runtime dependency (tools/lock_constraints.py)."""
    assert "constraints.txt" in DOCKERFILE
    spec = importlib.util.spec_from_file_location("lock", ROOT / "tools" / "lock_constraints.py")
    assert spec is not None and spec.loader is not None
    lock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock)
    pins = {
        lock.canonical(line.split("==")[0]): line.split("==")[1]
        for line in (ROOT / "deploy" / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    missing = set(lock.runtime_closure()) - set(pins)
    assert missing == set(), "run tools/lock_constraints.py"
