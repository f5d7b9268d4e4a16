"""``make bench`` runs on a tiny input and writes well-formed results.

Benchmarks are not tests: nothing here judges a number. The enrichment section runs in-process
in seconds; the sections that need the running chain are exercised by
``tests/integration/test_bench.py``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make bench BENCH_ARGS='--quick --sections enrich --out …'`` once for this module."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = tmp_path_factory.mktemp("bench") / "results.json"
    result = subprocess.run(
        ["make", "-s", "bench", f"BENCH_ARGS=--quick --sections enrich --out {out}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "KHABAR_LOG_LEVEL": "WARNING"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_results_are_well_formed_json(quick_run: Path) -> None:
    results = json.loads(quick_run.read_text())
    assert results["quick"] is True
    assert {"nproc", "cpu_model", "memory_gb"} <= set(results["machine"])
    enrich = results["sections"]["enrich"]
    assert enrich["articles"] == results["sizes"]["enrich_articles"]
    assert enrich["articles_per_second_per_core"] > 0
    assert {"clean", "language", "date", "entities"} <= set(enrich["component_mean_ms"])
    assert all(math.isfinite(v) and v >= 0 for v in enrich["component_mean_ms"].values())
    kb = enrich["knowledge_base"]
    assert kb["entries"] > 5000 and kb["load_cpu_seconds"] > 0
    assert kb["find_mentions_ms_per_article"] > 0


def test_every_target_has_a_verdict(quick_run: Path) -> None:
    verdicts = json.loads(quick_run.read_text())["verdicts"]
    assert len(verdicts) == 6
    ran = verdicts["enrich_articles_per_second_per_core"]
    assert isinstance(ran["met"], bool) and ran["measured"] is not None
    not_run = [v for k, v in verdicts.items() if k.startswith(("e2e", "api", "fresh", "scal"))]
    assert all(v["met"] is None and v["measured"] is None for v in not_run)


def test_markdown_table_is_written_beside_the_json(quick_run: Path) -> None:
    table = quick_run.with_suffix(".md").read_text()
    assert "| measure | target | measured | met |" in table
    assert "enrich articles per second per core" in table


def test_ntrex_articles_are_about_4_kb_in_every_language() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from bench_corpus import load_samples

    corpus, samples = load_samples(4096)
    languages = {s.language for s in samples}
    assert languages <= {"ur", "hi", "en"} and len(languages) >= 2
    sizes = [len(s.title.encode()) + 1 + len(s.body.encode()) for s in samples]
    assert max(sizes) <= 4096
    if corpus == "ntrex":
        assert languages == {"ur", "hi", "en"}
        assert min(sizes) >= 4000
