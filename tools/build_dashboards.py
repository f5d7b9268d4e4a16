"""Write the Grafana dashboards in ``deploy/grafana/dashboards/`` from one description.

Hand-edited dashboard JSON drifts (ids, grid positions, datasource references); this keeps the
panels in a few readable lines each and the files reproducible. Run after changing a panel::

    .venv/bin/python tools/build_dashboards.py

``tests/unit/observability/test_dashboards.py`` checks that every metric the written files
query is one the services export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
RATE = "[$__rate_interval]"

Panel = tuple[str, str, list[tuple[str, str]]]  # title, unit, [(PromQL, legend)]


def _quantile(q: str, metric: str, by: str = "") -> str:
    labels = f"le{', ' + by if by else ''}"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket{RATE})))"


PIPELINE: list[tuple[str, list[Panel]]] = [
    (
        "Throughput",
        [
            (
                "Articles in and out per stage",
                "ops",
                [
                    ("sum(rate(ingest_articles_total" + RATE + "))", "published (ingest + API)"),
                    ("sum(rate(enrich_messages_received_total" + RATE + "))", "enrich in"),
                    ("sum(rate(enrich_articles_total" + RATE + "))", "enriched"),
                    ("sum(rate(index_messages_received_total" + RATE + "))", "index in"),
                    ("sum(rate(index_documents_total" + RATE + "))", "indexed"),
                ],
            ),
            (
                "API requests by route",
                "reqps",
                [("sum by (route) (rate(api_requests_total" + RATE + "))", "{{route}}")],
            ),
            (
                "Stories: new articles joining or starting one, merges, relabelled articles",
                "ops",
                [
                    (
                        "sum by (outcome) (rate(index_story_placements_total" + RATE + "))",
                        "{{outcome}}",
                    ),
                    ("sum(rate(index_story_merges_total" + RATE + "))", "stories merged"),
                    ("sum(rate(index_story_relabelled_total" + RATE + "))", "articles relabelled"),
                ],
            ),
        ],
    ),
    (
        "Consumer lag",
        [
            (
                "Lag per partition",
                "short",
                [
                    ("sum by (topic, partition) (enrich_consumer_lag)", "enrich {{partition}}"),
                    ("sum by (topic, partition) (index_consumer_lag)", "index {{partition}}"),
                ],
            ),
            (
                "Rebalances",
                "short",
                [
                    ("sum(increase(enrich_rebalances_total" + RATE + "))", "enrich"),
                    ("sum(increase(index_rebalances_total" + RATE + "))", "index"),
                ],
            ),
        ],
    ),
    (
        "Latency per stage",
        [
            (
                "p95 per stage",
                "s",
                [
                    (_quantile("0.95", "ingest_publish_seconds"), "publish"),
                    (_quantile("0.95", "enrich_seconds"), "enrich"),
                    (_quantile("0.95", "index_bulk_seconds"), "bulk write"),
                    (_quantile("0.95", "api_request_seconds"), "API request"),
                ],
            ),
            (
                "Freshness: ingest to enriched / indexed (p50, p95)",
                "s",
                [
                    (_quantile("0.5", "enrich_ingest_to_enriched_seconds"), "enriched p50"),
                    (_quantile("0.95", "enrich_ingest_to_enriched_seconds"), "enriched p95"),
                    (_quantile("0.5", "index_ingest_to_indexed_seconds"), "indexed p50"),
                    (_quantile("0.95", "index_ingest_to_indexed_seconds"), "indexed p95"),
                ],
            ),
            (
                "Bulk size",
                "short",
                [(_quantile("0.5", "index_batch_size"), "p50 articles per bulk")],
            ),
        ],
    ),
    (
        "Errors",
        [
            (
                "Dead letters by stage and error",
                "ops",
                [
                    (
                        "sum by (error_type) (rate(enrich_dead_letters_total" + RATE + "))",
                        "enrich {{error_type}}",
                    ),
                    (
                        "sum by (error_type) (rate(index_dead_letters_total" + RATE + "))",
                        "index {{error_type}}",
                    ),
                ],
            ),
            (
                "Bulk item errors, retries, send errors",
                "ops",
                [
                    (
                        "sum by (status) (rate(index_bulk_item_errors_total" + RATE + "))",
                        "bulk item {{status}}",
                    ),
                    ("sum(rate(index_bulk_retries_total" + RATE + "))", "bulk retries"),
                    ("sum(rate(enrich_send_errors_total" + RATE + "))", "enrich send errors"),
                    ("sum(rate(index_send_errors_total" + RATE + "))", "index send errors"),
                    (
                        "sum by (kind) (rate(ingest_source_errors_total" + RATE + "))",
                        "source {{kind}}",
                    ),
                ],
            ),
            (
                "API errors (5xx) and search backend up",
                "short",
                [
                    (
                        'sum(rate(api_requests_total{status=~"5.."}' + RATE + "))",
                        "API 5xx/s",
                    ),
                    ("min(index_search_backend_up)", "search backend up"),
                    (
                        'sum by (outcome) (rate(telemetry_spans_exported_total{outcome!="stored"}'
                        + RATE
                        + "))",
                        "spans {{outcome}}",
                    ),
                ],
            ),
        ],
    ),
]

LANGUAGES: list[tuple[str, list[Panel]]] = [
    (
        "Languages",
        [
            (
                "Articles enriched per language",
                "ops",
                [("sum by (language) (rate(enrich_articles_total" + RATE + "))", "{{language}}")],
            ),
            (
                "Documents indexed per language",
                "ops",
                [("sum by (language) (rate(index_documents_total" + RATE + "))", "{{language}}")],
            ),
            (
                "Language-ID confidence (p10 per language)",
                "percentunit",
                [(_quantile("0.1", "enrich_language_confidence", "language"), "{{language}}")],
            ),
        ],
    ),
    (
        "Entities",
        [
            (
                "Unlinked-entity ratio",
                "percentunit",
                [
                    (
                        'sum(rate(enrich_entities_total{linked="false"}' + RATE + "))"
                        " / sum(rate(enrich_entities_total" + RATE + "))",
                        "unlinked",
                    )
                ],
            ),
            (
                "Entities found",
                "ops",
                [
                    (
                        "sum by (linked) (rate(enrich_entities_total" + RATE + "))",
                        "linked={{linked}}",
                    )
                ],
            ),
        ],
    ),
]


def _panel(panel_id: int, panel: Panel, x: int, y: int, width: int) -> dict[str, Any]:
    title, unit, queries = panel
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": width, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
            }
            for n, (expr, legend) in enumerate(queries)
        ],
    }


def dashboard(uid: str, title: str, rows: list[tuple[str, list[Panel]]]) -> dict[str, Any]:
    """A Grafana dashboard: one open row per section, its panels side by side."""
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for row_title, row_panels in rows:
        panels.append(
            {
                "id": next_id,
                "type": "row",
                "title": row_title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                "panels": [],
            }
        )
        next_id += 1
        y += 1
        width = 24 // len(row_panels)
        for n, panel in enumerate(row_panels):
            panels.append(_panel(next_id, panel, n * width, y, width))
            next_id += 1
        y += 8
    return {
        "uid": uid,
        "title": title,
        "tags": ["khabar"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": panels,
    }


def main() -> None:
    """Write every dashboard file."""
    OUT.mkdir(parents=True, exist_ok=True)
    for name, board in (
        ("khabar-pipeline.json", dashboard("khabar-pipeline", "Khabar — pipeline", PIPELINE)),
        ("khabar-languages.json", dashboard("khabar-languages", "Khabar — languages", LANGUAGES)),
    ):
        (OUT / name).write_text(json.dumps(board, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
