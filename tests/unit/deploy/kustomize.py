"""Render a kustomization with kustomize itself: ``kubectl kustomize`` where kubectl is
installed, else a ``kustomize`` binary (``make kustomize`` builds one into the venv from the Go
module proxy when neither exists)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

Resource = dict[str, Any]

ROOT = Path(__file__).resolve().parents[3]


@functools.cache
def kustomize_command() -> tuple[str, ...] | None:
    """The command that renders a kustomization directory, or None when there is none."""
    kubectl = shutil.which("kubectl")
    if kubectl is not None:
        return (kubectl, "kustomize")
    for candidate in (shutil.which("kustomize"), ROOT / ".venv" / "bin" / "kustomize"):
        if candidate is not None and Path(candidate).is_file():
            return (str(candidate), "build")
    return None


def render(path: Path) -> list[Resource]:
    """Every resource the kustomization at ``path`` renders to."""
    command = kustomize_command()
    if command is None:
        pytest.skip("no kubectl and no kustomize binary: run `make kustomize` (needs Go)")
    result = subprocess.run(
        [*command, str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, f"{' '.join(command)} {path}: {result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]
