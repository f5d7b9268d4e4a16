"""Every metric a Grafana dashboard queries is one a Khabar service actually exports.

The exported names are what the Prometheus registry holds once every module of ``services`` and
``shared`` is imported (each declares its metrics at import), plus the shared collectors that
build names per service, so a renamed metric breaks this test instead of silently emptying a
panel.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from prometheus_client import REGISTRY

import services
import shared
from shared.metrics import StreamMetricsCollector, request_metrics
from tests.unit.observability.promql import family, metric_names

REPO = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))


def _registered() -> set[str]:
    for package in (services, shared):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    return {family(metric.name) for metric in REGISTRY.collect()}


def _fake_app() -> Any:
    tp = TP("articles.raw", 0)
    monitor = SimpleNamespace(
        tp_end_offsets={tp: 10},
        tp_read_offsets={tp: 6},
        tp_committed_offsets={},
        messages_received_total=7,
        messages_sent=5,
        send_errors=0,
        rebalances=1,
    )
    consumer = SimpleNamespace(assignment=lambda: {tp})
    return SimpleNamespace(monitor=monitor, consumer=consumer)


def exported() -> set[str]:
    """Families the services export: registered at import, or built per service at run time."""
    names = _registered()
    for service in ("enrich", "index"):
        for metric in StreamMetricsCollector(_fake_app(), service).collect():
            names.add(family(metric.name))
    names.update(family(metric._name) for metric in request_metrics("api"))  # noqa: SLF001 - no public name
    return names


def _expressions(path: Path) -> list[str]:
    board = json.loads(path.read_text(encoding="utf-8"))
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]


def test_promql_names_are_found_in_expressions() -> None:
    expression = (
        'histogram_quantile(0.95, sum by (le, language) (rate(enrich_seconds_bucket{a="b(c)"}'
        "[$__rate_interval]))) / ignoring (x) sum(index_consumer_lag) and on(job) up"
    )
    assert metric_names(expression) == {"enrich_seconds_bucket", "index_consumer_lag", "up"}


def test_stream_collector_reports_lag_per_partition() -> None:
    metrics = {m.name: m for m in StreamMetricsCollector(_fake_app(), "enrich").collect()}
    (sample,) = metrics["enrich_consumer_lag"].samples
    assert sample.labels == {"topic": "articles.raw", "partition": "0"}
    assert sample.value == 3  # offsets 7, 8 and 9 are still unread
    assert metrics["enrich_messages_received"].samples[0].value == 7


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_queries_only_exported_metrics(path: Path) -> None:
    board = json.loads(path.read_text(encoding="utf-8"))
    assert board["uid"] and board["title"] and board["panels"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    expressions = _expressions(path)
    assert expressions
    queried = {family(name) for expr in expressions for name in metric_names(expr)}
    assert queried - exported() == set()


def test_dashboards_exist_for_every_concern() -> None:
    """Throughput, lag, latency per stage, errors and languages each have a panel."""
    everything = " ".join(expr for path in DASHBOARDS for expr in _expressions(path))
    for metric in (
        "index_documents_total",
        "enrich_consumer_lag",
        "index_bulk_seconds",
        "enrich_dead_letters_total",
        "enrich_language_confidence",
        "enrich_entities_total",
    ):
        assert metric in everything, metric
