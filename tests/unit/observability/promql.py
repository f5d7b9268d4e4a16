"""Metric names a PromQL expression reads (enough of PromQL for our dashboards)."""

from __future__ import annotations

import re

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expression: str) -> set[str]:
    """Every metric selector's name: identifiers that are not functions, labels or keywords."""
    text = _STRINGS.sub('""', expression)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        following = text[match.end() :].lstrip()
        if following.startswith("("):
            continue  # a function or aggregation
        if match.group().lower() in _KEYWORDS:
            continue
        names.add(match.group())
    return names


def family(name: str) -> str:
    """The metric family a sample name belongs to (``x_bucket`` → ``x``)."""
    for suffix in ("_bucket", "_count", "_sum", "_total", "_created"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
