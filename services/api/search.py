"""Building search requests from user parameters, and reading the answers — pure, no I/O.

User text never becomes query DSL: it is normalised (:func:`shared.text.normalize_text`, the
same function applied to documents at index time) and passed only as the *text* of
``multi_match`` queries or as *values* of ``terms`` filters, never to ``query_string``, regexes
or scripts. A query resolved by :mod:`services.api.resolve` becomes one required clause per
entity-naming word group — "this text, or any of these entity ids" — so a name matches articles
in every script; the remaining words form one ``multi_match`` with ``operator: and``.

Highlights are asked of the *original* ``title``/``body`` fields with a ``highlight_query`` of
the query as typed plus the resolved entities' names in every script, so a Hindi hit for
``q=Pakistan`` shows ``<mark>पाकिस्तान</mark>``. Pagination is by ``search_after`` with an
opaque cursor (base64 JSON of the last hit's sort values).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from services.api.resolve import Clause, ResolvedQuery
from shared.errors import KhabarError
from shared.models import (
    DateBucket,
    EntityBucket,
    EntityType,
    FacetBucket,
    QueryTerm,
    SearchHit,
)
from shared.text import normalize_text

SortOrder = Literal["relevance", "date"]
Interval = Literal["day", "week", "month", "year"]
ENTITY_TYPES: tuple[EntityType, ...] = ("PER", "ORG", "LOC", "MISC")

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
    "story_id",
]
#: A matched entity id scores like a good title match: the article is about the thing named.
ENTITY_BOOST = 2.0
#: Facet sizes: enough for a sidebar, bounded so aggregations stay cheap.
FACET_SIZE = 10
ENTITIES_PER_TYPE = 10
MARK = ("<mark>", "</mark>")


class InvalidCursorError(KhabarError):
    """The pagination cursor was not produced by this API."""


@dataclass(frozen=True, slots=True)
class SearchParams:
    """What a consumer asked for."""

    q: str | None = None
    resolved: ResolvedQuery | None = None
    languages: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    published_from: datetime | None = None
    published_to: datetime | None = None
    size: int = 10
    sort: SortOrder = "relevance"
    cursor: str | None = None
    facets: bool = False
    interval: Interval = "day"
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


def _clauses(params: SearchParams) -> tuple[Clause, ...]:
    """The query's clauses; an unresolved query is one text clause."""
    if params.resolved is not None:
        return params.resolved.clauses
    text = (params.q or "").strip()
    return (Clause(text, "text"),) if normalize_text(text) else ()


def _text_match(text: str) -> dict[str, Any]:
    return {"multi_match": {"query": text, "fields": SEARCH_FIELDS, "operator": "and"}}


def build_filters(params: SearchParams) -> list[dict[str, Any]]:
    """Filters (no scoring): language, entities, entity types, sources, dates."""
    filters: list[dict[str, Any]] = list(params.extra_filters)
    if params.languages:
        filters.append({"terms": {"language": list(params.languages)}})
    for entity in params.entities:
        filters.append({"term": {"entity_ids": entity}})
    if params.entity_types:
        filters.append({"terms": {"entity_types": list(params.entity_types)}})
    if params.sources:
        filters.append({"terms": {"source": list(params.sources)}})
    if params.published_from or params.published_to:
        bounds: dict[str, str] = {}
        if params.published_from:
            bounds["gte"] = params.published_from.isoformat()
        if params.published_to:
            bounds["lte"] = params.published_to.isoformat()
        filters.append({"range": {"published_at": bounds}})
    return filters


def build_query(params: SearchParams) -> dict[str, Any]:
    """The ``query`` part of a search request."""
    filters = build_filters(params)
    must: list[dict[str, Any]] = []
    plain: list[str] = []
    for clause in _clauses(params):
        text = clause.search_text
        if not clause.entity_ids:
            if text:
                plain.append(text)
            continue
        should: list[dict[str, Any]] = [
            {"terms": {"entity_ids": list(clause.entity_ids), "boost": ENTITY_BOOST}}
        ]
        if text:
            should.insert(0, _text_match(text))
        must.append({"bool": {"should": should, "minimum_should_match": 1}})
    if plain:
        must.insert(0, _text_match(" ".join(plain)))
    if not must and not filters:
        return {"match_all": {}}
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def _highlight(params: SearchParams) -> dict[str, Any] | None:
    """Highlight the original-script fields with the query and its entities' names."""
    if params.resolved is not None:
        terms = params.resolved.highlight_terms
    else:
        terms = (params.q,) if params.q and normalize_text(params.q) else ()
    if not terms:
        return None

    def query(field_name: str) -> dict[str, Any]:
        should: list[dict[str, Any]] = [{"match": {field_name: terms[0]}}]
        should.extend({"match_phrase": {field_name: term}} for term in terms[1:])
        return {"bool": {"should": should}}

    return {
        "fields": {
            "title": {"number_of_fragments": 0, "highlight_query": query("title")},
            "body": {
                "fragment_size": 160,
                "number_of_fragments": 2,
                "highlight_query": query("body"),
            },
        },
        "pre_tags": [MARK[0]],
        "post_tags": [MARK[1]],
    }


def build_aggregations(interval: Interval = "day") -> dict[str, Any]:
    """Facets: languages, sources, entity types, top entities per type, a date histogram."""
    return {
        "languages": {"terms": {"field": "language", "size": FACET_SIZE}},
        "sources": {"terms": {"field": "source", "size": FACET_SIZE}},
        "entity_types": {"terms": {"field": "entity_types", "size": len(ENTITY_TYPES)}},
        "entities": {
            "nested": {"path": "entities"},
            "aggs": {"by_type": entity_type_aggregation(ENTITIES_PER_TYPE)},
        },
        "published": date_histogram("published_at", interval),
    }


def entity_type_aggregation(size: int) -> dict[str, Any]:
    """Inside a ``nested`` on ``entities``: types, their top ids, each id's commonest name."""
    return {
        "terms": {"field": "entities.type", "size": len(ENTITY_TYPES)},
        "aggs": {"ids": entity_id_aggregation(size)},
    }


def entity_id_aggregation(size: int) -> dict[str, Any]:
    """Inside a ``nested`` on ``entities``: top ids with their commonest name and type."""
    return {
        "terms": {"field": "entities.id", "size": size},
        "aggs": {
            "name": {"terms": {"field": "entities.name", "size": 1}},
            "type": {"terms": {"field": "entities.type", "size": 1}},
        },
    }


def date_histogram(field_name: str, interval: Interval, stories: bool = False) -> dict[str, Any]:
    """Non-empty intervals only, so a wide range never yields thousands of empty buckets; with
    ``stories``, each interval also counts its stories (:func:`story_count`)."""
    histogram: dict[str, Any] = {
        "date_histogram": {"field": field_name, "calendar_interval": interval, "min_doc_count": 1}
    }
    if stories:
        histogram["aggs"] = STORY_COUNT
    return histogram


#: Sub-aggregations counting a bucket's stories: distinct ``story_id``s, plus articles indexed
#: before stories existed (each its own story).
STORY_COUNT: dict[str, Any] = {
    "stories": {"cardinality": {"field": "story_id"}},
    "unplaced": {"missing": {"field": "story_id"}},
}


def story_count(bucket: dict[str, Any]) -> int | None:
    """The stories of a bucket aggregated with :data:`STORY_COUNT` (None without them)."""
    if "stories" not in bucket:
        return None
    return int(bucket["stories"]["value"]) + int(bucket.get("unplaced", {}).get("doc_count", 0))


def build_search(params: SearchParams) -> dict[str, Any]:
    """Keyword arguments for ``AsyncElasticsearch.search``."""
    has_text = bool(_clauses(params))
    if params.sort == "date" or not has_text:
        sort: list[Any] = [{"published_at": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
    else:
        sort = [{"_score": "desc"}, {"id": "asc"}]
    sources = list(SOURCE_FIELDS)
    if params.resolved is not None and params.resolved.entity_ids:
        sources.append("entities.mentions")  # to mark names the highlighter cannot know
    request: dict[str, Any] = {
        "query": build_query(params),
        "size": params.size + 1,  # one extra tells whether a next page exists
        "sort": sort,
        "track_total_hits": True,
        "source_includes": sources,
    }
    highlight = _highlight(params)
    if highlight is not None:
        request["highlight"] = highlight
    if params.facets:
        request["aggs"] = build_aggregations(params.interval)
    if params.cursor:
        request["search_after"] = decode_cursor(params.cursor)
    return request


# --------------------------------------------------------------------------- reading answers


def buckets(aggregation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The buckets of a terms/histogram aggregation (empty when it is missing)."""
    found: list[dict[str, Any]] = (aggregation or {}).get("buckets", [])
    return found


def facet_buckets(aggregation: dict[str, Any] | None) -> list[FacetBucket]:
    """A terms aggregation as facet buckets."""
    return [FacetBucket(key=str(b["key"]), count=int(b["doc_count"])) for b in buckets(aggregation)]


def date_buckets(aggregation: dict[str, Any] | None) -> list[DateBucket]:
    """A date histogram as buckets with timezone-aware dates."""
    return [
        DateBucket(
            date=datetime.fromtimestamp(b["key"] / 1000, UTC),
            count=int(b["doc_count"]),
            stories=story_count(b),
        )
        for b in buckets(aggregation)
    ]


_ENTITY_TYPE_OF: dict[str, EntityType] = {kind: kind for kind in ENTITY_TYPES}


def _entity_type(value: object, default: EntityType = "MISC") -> EntityType:
    return _ENTITY_TYPE_OF.get(value, default) if isinstance(value, str) else default


def entity_buckets(
    aggregation: dict[str, Any] | None, default_type: EntityType = "MISC"
) -> list[EntityBucket]:
    """An :func:`entity_id_aggregation` as entity buckets."""
    found: list[EntityBucket] = []
    for bucket in buckets(aggregation):
        name = buckets(bucket.get("name"))
        kind = buckets(bucket.get("type"))
        found.append(
            EntityBucket(
                id=str(bucket["key"]),
                name=str(name[0]["key"]) if name else str(bucket["key"]),
                type=_entity_type(kind[0]["key"] if kind else None, default_type),
                count=int(bucket["doc_count"]),
            )
        )
    return found


def _bucket_data(aggregation: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": str(b["key"]), "count": int(b["doc_count"])} for b in buckets(aggregation)]


def _entity_bucket_data(
    aggregation: dict[str, Any] | None, default_type: EntityType
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for bucket in buckets(aggregation):
        name = buckets(bucket.get("name"))
        kind = buckets(bucket.get("type"))
        found.append(
            {
                "id": str(bucket["key"]),
                "name": str(name[0]["key"]) if name else str(bucket["key"]),
                "type": _entity_type(kind[0]["key"] if kind else None, default_type),
                "count": int(bucket["doc_count"]),
            }
        )
    return found


def facets_data(aggregations: dict[str, Any] | None) -> dict[str, Any] | None:
    """The facets of a search answer made with :func:`build_aggregations`, as model input."""
    if not aggregations:
        return None
    entities: dict[EntityType, list[dict[str, Any]]] = {}
    for bucket in buckets(aggregations.get("entities", {}).get("by_type")):
        kind = _entity_type(bucket["key"])
        entities[kind] = _entity_bucket_data(bucket.get("ids"), kind)
    return {
        "languages": _bucket_data(aggregations.get("languages")),
        "sources": _bucket_data(aggregations.get("sources")),
        "entity_types": _bucket_data(aggregations.get("entity_types")),
        "entities": entities,
        "published": [
            {"date": datetime.fromtimestamp(b["key"] / 1000, UTC), "count": int(b["doc_count"])}
            for b in buckets(aggregations.get("published"))
        ],
    }


def interpretation(resolved: ResolvedQuery | None) -> list[QueryTerm]:
    """How the query was read, for the response."""
    if resolved is None:
        return []
    return [
        QueryTerm(text=c.text, entity_ids=list(c.entity_ids), via=c.via) for c in resolved.clauses
    ]


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each non-overlapping span wrapped in the highlight tags."""
    out: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start < position or end > len(text):
            continue
        out.extend((text[position:start], MARK[0], text[start:end], MARK[1]))
        position = end
    out.append(text[position:])
    return "".join(out)


def mention_highlight(
    source: dict[str, Any], entity_ids: frozenset[str], highlight: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Add highlights from the stored mentions of matched entities where the server had none.

    Names outside the KB matched by their cross-script key (``Nabil Munir`` → نبیل منیر) have
    no known spelling to give the highlighter, but each article records where they occur.
    """
    if not entity_ids:
        return highlight
    spans: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
    texts: list[str] = []
    for entity in source.get("entities", []):
        if entity.get("id") not in entity_ids:
            continue
        for mention in entity.get("mentions") or []:
            field_name = mention.get("field")
            if field_name in spans and isinstance(mention.get("start"), int):
                spans[field_name].append((mention["start"], int(mention.get("end", 0))))
                texts.append(str(mention.get("text", "")))
    result = dict(highlight)
    title = source.get("title")
    if "title" not in result and spans["title"] and isinstance(title, str):
        result["title"] = [_marked(title, spans["title"])]
    if "body" not in result and spans["body"]:
        result["body"] = [f"…{MARK[0]}{t}{MARK[1]}…" for t in dict.fromkeys(texts) if t][:2]
    return result


def hit_data(raw: dict[str, Any], entity_ids: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One search hit as :class:`SearchHit` input (validated by the caller, once per page).

    Plain dicts on purpose: a page of hits is validated in one pydantic call
    (:func:`services.api.execute.perform_search`) instead of one model per hit and per entity.
    """
    source = raw.get("_source", {})
    entities = [
        {"id": e["id"], "name": e.get("name", e["id"]), "type": _entity_type(e.get("type"))}
        for e in source.get("entities", ())
        if "id" in e
    ]
    raw_highlight = raw.get("highlight")
    highlight = (
        {key.removeprefix("search_"): value for key, value in raw_highlight.items()}
        if raw_highlight
        else {}
    )
    return {
        "id": source.get("id", raw.get("_id")),
        "title": source.get("title"),
        "language": source.get("language", "und"),
        "script": source.get("script"),
        "source": source.get("source"),
        "url": source.get("url"),
        "published_at": source.get("published_at"),
        "entities": entities,
        "score": raw.get("_score"),
        "highlight": mention_highlight(source, entity_ids, highlight),
        "trace_id": source.get("trace_id"),
        "story_id": source.get("story_id"),
    }


def read_hit(raw: dict[str, Any], entity_ids: frozenset[str] = frozenset()) -> SearchHit:
    """One search hit from a search answer."""
    return SearchHit.model_validate(hit_data(raw, entity_ids))
