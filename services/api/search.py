"""Building search requests from user parameters — pure functions, no I/O.

User text never becomes query DSL: it is normalised (:func:`shared.text.normalize_text`, the
same function applied to documents at index time) and passed only as the *text* of
``multi_match`` queries, never to ``query_string``, regexes or scripts. Pagination is by
``search_after`` with an opaque cursor (base64 JSON of the last hit's sort values).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.errors import KhabarError
from shared.text import normalize_text

SortOrder = Literal["relevance", "date"]

SEARCH_FIELDS = ["search_title^3", "entity_names^2", "search_body"]
SOURCE_FIELDS = [
    "id",
    "title",
    "language",
    "script",
    "source",
    "url",
    "published_at",
    "entities.id",
    "entities.name",
    "entities.type",
    "trace_id",
]


class InvalidCursorError(KhabarError):
    """The pagination cursor was not produced by this API."""


@dataclass(frozen=True, slots=True)
class SearchParams:
    """What a consumer asked for."""

    q: str | None = None
    languages: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    published_from: datetime | None = None
    published_to: datetime | None = None
    size: int = 10
    sort: SortOrder = "relevance"
    cursor: str | None = None
    extra_filters: list[dict[str, Any]] = field(default_factory=list)


def encode_cursor(sort_values: list[Any]) -> str:
    """An opaque cursor for the hit after these sort values."""
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort values inside a cursor; :class:`InvalidCursorError` when it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursorError("cursor is not valid") from exc
    if not isinstance(values, list) or not 1 <= len(values) <= 3:
        raise InvalidCursorError("cursor is not valid")
    if not all(isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in values):
        raise InvalidCursorError("cursor is not valid")
    return values


def build_query(params: SearchParams) -> dict[str, Any]:
    """The ``query`` part of a search request."""
    filters: list[dict[str, Any]] = list(params.extra_filters)
    if params.languages:
        filters.append({"terms": {"language": list(params.languages)}})
    for entity in params.entities:
        filters.append({"term": {"entity_ids": entity}})
    if params.published_from or params.published_to:
        bounds: dict[str, str] = {}
        if params.published_from:
            bounds["gte"] = params.published_from.isoformat()
        if params.published_to:
            bounds["lte"] = params.published_to.isoformat()
        filters.append({"range": {"published_at": bounds}})
    must: list[dict[str, Any]] = []
    text = normalize_text(params.q or "")
    if text:
        must.append({"multi_match": {"query": text, "fields": SEARCH_FIELDS, "operator": "and"}})
    if not must and not filters:
        return {"match_all": {}}
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def build_search(params: SearchParams) -> dict[str, Any]:
    """Keyword arguments for ``AsyncElasticsearch.search``."""
    if params.sort == "date" or not normalize_text(params.q or ""):
        sort: list[Any] = [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    else:
        sort = [{"_score": "desc"}, {"id": "asc"}]
    request: dict[str, Any] = {
        "query": build_query(params),
        "size": params.size + 1,  # one extra tells whether a next page exists
        "sort": sort,
        "track_total_hits": True,
        "source_includes": SOURCE_FIELDS,
    }
    if params.q and normalize_text(params.q):
        request["highlight"] = {
            "fields": {
                "search_title": {"number_of_fragments": 0},
                "search_body": {"fragment_size": 160, "number_of_fragments": 2},
            },
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
        }
    if params.cursor:
        request["search_after"] = decode_cursor(params.cursor)
    return request
