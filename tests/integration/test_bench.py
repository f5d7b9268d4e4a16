"""``tools/bench.py --quick`` against its own local stack: every chain section runs and the
results file is well formed. Nothing here judges a number (benchmarks are not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_quick_bench_runs_every_chain_section(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "bench.py"),
            "--quick",
            "--out",
            str(out),
            "--sections",
            "gateway,api,freshness,e2e",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    results = json.loads(out.read_text())
    sections = results["sections"]
    by_size = sections["api"]["by_index_size"]
    assert [s["indexed_articles"] for s in by_size] == results["sizes"]["api_articles"]
    for size in by_size:
        for mix in ("full_text", "filter_only"):
            assert size[mix]["requests"] > 0
            assert set(size[mix]["gateway_overhead_ms"]) == {"p50", "p99"}
            # Elasticsearch reports its own time, so the gateway's overhead is taken against it
            assert size[mix]["search_server_took_ms"]["p99"] >= 0
    cpu = sections["e2e"]["chain"]["cpu_ms_per_article"]
    assert {"kafka", "elasticsearch", "enrich", "index", "total"} <= set(cpu)
    assert cpu["elasticsearch"] > 0 and cpu["enrich"] > 0
    assert sections["freshness"]["indexed"] == sections["freshness"]["offered"]
    latency = sections["freshness"]["latency_seconds"]
    assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"]
    assert sections["e2e"]["chain"]["processed_in_window"] > 0
    assert sections["e2e"]["passthrough"]["processed_in_window"] > 0
    assert results["verdicts"]["scaling_two_workers_speedup"]["met"] is None
    # the gateway's overhead comes from bench_api.py's replay-proxy run, reported beside it
    gateway = sections["gateway"]
    assert (out.parent / gateway["report"]).is_file()
    assert {"concurrency_1", "concurrency_50"} <= set(gateway["overhead_p99_ms_worst_mix"])
    overhead = results["verdicts"]["api_gateway_overhead_p99_ms"]
    assert overhead["measured"] == gateway["overhead_p99_ms_worst_mix"]["concurrency_50"]
    assert isinstance(overhead["met"], bool)
