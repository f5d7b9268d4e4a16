"""Search by meaning beside search by words, fused in the gateway — pure, no I/O.

``mode=hybrid`` (the default) runs the lexical and entity query of :mod:`services.api.search`
and an approximate kNN search on the query's vector (``shared.vectors``: the same model that
embedded the articles, whatever their script) and fuses the two rankings by reciprocal rank
fusion, ``score = Σ 1 / (RRF_K + rank)``, here rather than with Elasticsearch's own RRF, which
needs a licensed tier. ``mode=semantic`` is the kNN ranking alone, ``mode=lexical`` today's.

Fused rankings are read from a window of :data:`WINDOW` hits per ranking and paged through with
an offset cursor; a page of hits (or of stories, ``collapse=story``) never reaches past it.
Stories are summarised per page: how many articles each has and one article per language, so
a hit can say "also in اردو · हिन्दी · English" and link to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from services.api.search import (
    SOURCE_FIELDS,
    InvalidCursorError,
    SearchParams,
    build_filters,
    decode_cursor,
    encode_cursor,
    hit_data,
)

SearchMode = Literal["hybrid", "lexical", "semantic"]
#: Reciprocal rank fusion's constant: 60 is the value of the method's paper (Cormack et al.).
RRF_K = 60
#: Hits read per ranking for a fused or collapsed page; pages end there.
WINDOW = 100
#: Languages listed per story on a hit.
STORY_LANGUAGES = 5
_OFFSET_TAG = "o"
_OLDEST_FIRST = {"order": "asc", "missing": "_last"}


def knn_clause(
    params: SearchParams, vector: Sequence[float], k: int, min_similarity: float
) -> dict[str, Any]:
    """The ``knn`` option for a query vector under the request's filters."""
    clause: dict[str, Any] = {
        "field": "vector",
        "query_vector": list(vector),
        "k": k,
        "num_candidates": max(2 * k, 100),
        "similarity": min_similarity,
    }
    filters = build_filters(params)
    if filters:
        clause["filter"] = filters
    return clause


def semantic_request(knn: dict[str, Any]) -> dict[str, Any]:
    """One kNN ranking of :data:`WINDOW` hits for a :func:`knn_clause` (an ``_msearch`` body)."""
    return {"knn": knn, "size": WINDOW, "_source": SOURCE_FIELDS}


def union_request(
    query: dict[str, Any],
    knn: dict[str, Any] | None,
    aggregations: dict[str, Any] | None,
    collapse: bool,
) -> dict[str, Any]:
    """How many articles (or stories) match either ranking, and their facets."""
    aggs = dict(aggregations or {})
    if collapse:
        aggs["stories"] = {"cardinality": {"field": "story_id"}}
    body: dict[str, Any] = {"query": query, "size": 0, "track_total_hits": True, "aggs": aggs}
    if knn is not None:
        body["knn"] = knn
    return body


def fuse(rankings: Iterable[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Ids with their fused score by reciprocal rank fusion, best first (ties keep the order
    in which ids were first met)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def collapse_stories(
    ranked: Sequence[tuple[str, float]], story_of: dict[str, str | None]
) -> list[tuple[str, float]]:
    """The best-ranked article of each story, in rank order."""
    seen: set[str] = set()
    kept = []
    for doc_id, score in ranked:
        story = story_of.get(doc_id) or doc_id
        if story not in seen:
            seen.add(story)
            kept.append((doc_id, score))
    return kept


def encode_offset(offset: int) -> str:
    """The cursor of a fused or collapsed page starting at ``offset``."""
    return encode_cursor([_OFFSET_TAG, offset])


def decode_offset(cursor: str | None) -> int:
    """The offset inside a fused page's cursor (0 without one)."""
    if not cursor:
        return 0
    values = decode_cursor(cursor)
    if len(values) != 2 or values[0] != _OFFSET_TAG or not isinstance(values[1], int):
        raise InvalidCursorError("cursor is not valid for this search mode")
    if not 0 <= values[1] < WINDOW:
        raise InvalidCursorError("cursor is not valid")
    return values[1]


def story_summary_request(story_ids: Sequence[str]) -> dict[str, Any]:
    """Per story of a page: its article count and its first article in each language."""
    return {
        "query": {"terms": {"story_id": list(story_ids)}},
        "size": 0,
        "aggs": {
            "stories": {
                "terms": {"field": "story_id", "size": len(story_ids)},
                "aggs": {
                    "languages": {
                        "terms": {"field": "language", "size": STORY_LANGUAGES},
                        "aggs": {
                            "first": {
                                "top_hits": {
                                    "size": 1,
                                    "_source": ["id", "title"],
                                    "sort": [{"published_at": _OLDEST_FIRST}],
                                }
                            }
                        },
                    }
                },
            }
        },
    }


def read_story_summaries(response: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Story id -> ``StorySummary`` input, from a :func:`story_summary_request` answer."""
    summaries: dict[str, dict[str, Any]] = {}
    aggregations = (response or {}).get("aggregations", {})
    for bucket in aggregations.get("stories", {}).get("buckets", []):
        versions = []
        for language in bucket.get("languages", {}).get("buckets", []):
            hits = language.get("first", {}).get("hits", {}).get("hits", [])
            if hits:
                source = hits[0].get("_source", {})
                versions.append(
                    {
                        "id": source.get("id", hits[0].get("_id")),
                        "language": language["key"],
                        "title": source.get("title"),
                    }
                )
        summaries[str(bucket["key"])] = {
            "id": str(bucket["key"]),
            "articles": int(bucket["doc_count"]),
            "versions": versions,
        }
    return summaries


# --------------------------------------------------------------------------- related articles


def related_story_request(article_id: str, story_id: str, size: int) -> dict[str, Any]:
    """The other articles of a story, oldest first (an ``_msearch`` body)."""
    return {
        "query": {
            "bool": {
                "filter": [{"term": {"story_id": story_id}}],
                "must_not": [{"ids": {"values": [article_id]}}],
            }
        },
        "size": size,
        "sort": [{"published_at": _OLDEST_FIRST}, {"id": "asc"}],
        "_source": SOURCE_FIELDS,
    }


def close_coverage_request(
    article_id: str,
    story_id: str | None,
    vector: Sequence[float],
    size: int,
    min_similarity: float,
) -> dict[str, Any]:
    """The nearest articles of other stories (an ``_msearch`` body)."""
    other: list[dict[str, Any]] = [{"ids": {"values": [article_id]}}]
    if story_id:
        other.append({"term": {"story_id": story_id}})
    return {
        "knn": {
            "field": "vector",
            "query_vector": list(vector),
            "k": size,
            "num_candidates": max(2 * size, 100),
            "similarity": min_similarity,
            "filter": {"bool": {"must_not": other}},
        },
        "size": size,
        "_source": SOURCE_FIELDS,
    }


def related_hits(
    article: dict[str, Any], answers: Sequence[dict[str, Any]], has_story: bool, size: int
) -> list[dict[str, Any]]:
    """``RelatedHit`` inputs, best first: the story in other languages, the story in the
    article's own language, then close coverage; at most ``size``."""
    story_hits = answers[0]["hits"]["hits"] if has_story and answers else []
    close_hits = (
        answers[-1]["hits"]["hits"] if answers and (len(answers) > 1 or not has_story) else []
    )
    language = article.get("language")
    ordered: list[dict[str, Any]] = []
    for relation, chosen in (
        (
            "story_other_language",
            [h for h in story_hits if h["_source"].get("language") != language],
        ),
        (
            "story_same_language",
            [h for h in story_hits if h["_source"].get("language") == language],
        ),
        ("close_coverage", close_hits),
    ):
        ordered.extend({**hit_data(hit), "relation": relation} for hit in chosen)
    return ordered[:size]
