"""Metric names a PromQL expression reads, from the PromQL parser's syntax tree."""

from __future__ import annotations

import re

import promql_parser

#: Grafana's range variables are not PromQL; any duration stands in for them when parsing.
_GRAFANA_RANGES = re.compile(r"\$__(?:rate_interval|interval|range)\b")


def metric_names(expression: str) -> set[str]:
    """The name of every metric selector in ``expression``."""
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(_GRAFANA_RANGES.sub("5m", expression)), visit)
    return names


def family(name: str) -> str:
    """The metric family a sample name belongs to (``x_bucket`` → ``x``)."""
    for suffix in ("_bucket", "_count", "_sum", "_total", "_created"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
