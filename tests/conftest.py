"""Shared test configuration: where the optional ../shared data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SAMPLES = SHARED / "samples"
DATASETS = SHARED / "datasets"

requires_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"{SAMPLES} is absent (real pages are not part of the repo)"
)
requires_datasets = pytest.mark.skipif(
    not DATASETS.is_dir(), reason=f"{DATASETS} is absent (corpora are not part of the repo)"
)
