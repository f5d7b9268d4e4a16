"""Running a search: one page of lexical, semantic or hybrid hits, each with its story.

The request bodies come from :mod:`services.api.search` (words and entities) and
:mod:`services.api.hybrid` (meaning, fusion, stories); this module sends them, in one
``_msearch`` round trip where a page needs several, and shapes the answer.

- ``lexical`` without ``collapse`` pages with ``search_after`` as deep as the index goes.
- ``hybrid``, ``semantic`` and ``collapse=story`` read a window of each ranking, fuse and
  collapse in the gateway, and page with an offset inside that window.
- A query the vector model cannot place (punctuation, emoji, digits, ids and codes shredded
  into many pieces) or ``sort=date`` runs lexically; the answer's ``mode`` says how it ran.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from elasticsearch import ApiError, TransportError
from fastapi import HTTPException, status

from services.api.deps import Resources, run_search, total_hits
from services.api.hybrid import (
    WINDOW,
    SearchMode,
    collapse_stories,
    decode_offset,
    encode_offset,
    fuse,
    knn_clause,
    read_story_summaries,
    semantic_request,
    story_summary_request,
    union_request,
)
from services.api.search import (
    InvalidCursorError,
    SearchParams,
    build_aggregations,
    build_query,
    build_search,
    encode_cursor,
    facets_data,
    hit_data,
    interpretation,
)
from shared.models import SearchResponse


async def run_msearch(resources: Resources, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Several searches on the alias in one round trip; HTTP errors as :func:`run_search`'s."""
    searches: list[dict[str, Any]] = []
    for body in bodies:
        searches.extend(({}, body))
    try:
        response = await resources.es.msearch(
            index=resources.settings.index_alias, searches=searches
        )
    except ApiError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "search backend error") from exc
    except TransportError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
        ) from exc
    answers: list[dict[str, Any]] = response.body["responses"]
    for answer in answers:
        error = answer.get("error")
        if error is None:
            continue
        if answer.get("status") == 404:
            return []
        if answer.get("status") == 400:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "the search could not be run")
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "search backend error")
    return answers


def effective_mode(
    resources: Resources, params: SearchParams, mode: SearchMode
) -> tuple[SearchMode, list[float] | None]:
    """How the search will run, and the query's vector when it needs one."""
    if mode == "lexical" or not params.q or params.sort == "date":
        return "lexical", None
    if not resources.embedder.placeable(params.q):
        return "lexical", None
    vector = resources.embedder.embed(params.q)
    if vector is None:
        return "lexical", None
    return mode, [float(x) for x in vector]


async def perform_search(
    resources: Resources,
    params: SearchParams,
    mode: SearchMode = "lexical",
    collapse: bool = False,
) -> SearchResponse:
    """Run one page of a search and shape the answer (hits with their stories, cursor,
    facets, interpretation, mode)."""
    ran, vector = effective_mode(resources, params, mode)
    try:
        if ran == "lexical" and not collapse:
            data = await _lexical_page(resources, params)
        else:
            data = await _windowed_page(resources, params, ran, vector, collapse)
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    await add_stories(resources, data["hits"])
    data.update(interpretation=interpretation(params.resolved), mode=ran)
    # One validation for the whole page (hits, their entities, facets) instead of a model
    # constructor per hit and per entity; FastAPI then serialises the model once.
    return SearchResponse.model_validate(data)


def _matched(params: SearchParams) -> frozenset[str]:
    return frozenset(params.resolved.entity_ids if params.resolved else ())


async def _lexical_page(resources: Resources, params: SearchParams) -> dict[str, Any]:
    response = await run_search(resources, build_search(params))
    if response is None:
        return {"total": 0, "hits": []}
    raw_hits = response["hits"]["hits"]
    page = raw_hits[: params.size]
    more = len(raw_hits) > params.size and page
    return {
        "total": total_hits(response),
        "hits": [hit_data(hit, _matched(params)) for hit in page],
        "next_cursor": encode_cursor(page[-1]["sort"]) if more else None,
        "took_ms": response.get("took"),
        "facets": facets_data(response.get("aggregations")),
    }


def _msearch_body(request: dict[str, Any]) -> dict[str, Any]:
    """An ``AsyncElasticsearch.search`` keyword set as an ``_msearch`` body."""
    body = dict(request)
    if "source_includes" in body:
        body["_source"] = body.pop("source_includes")
    return body


async def _windowed_page(
    resources: Resources,
    params: SearchParams,
    ran: SearchMode,
    vector: list[float] | None,
    collapse: bool,
) -> dict[str, Any]:
    """A page read from fused (or collapsed) rankings of :data:`WINDOW` hits each."""
    offset = decode_offset(params.cursor)
    minimum = resources.settings.api_semantic_min_similarity
    bodies = []
    if ran != "semantic":
        window = replace(params, size=WINDOW - 1, cursor=None, facets=False)
        bodies.append(_msearch_body(build_search(window)))
    knn = knn_clause(params, vector, WINDOW, minimum) if vector is not None else None
    if knn is not None:
        bodies.append(semantic_request(knn))
    query = build_query(params) if ran != "semantic" else {"match_none": {}}
    aggregations = build_aggregations(params.interval) if params.facets else None
    bodies.append(union_request(query, knn, aggregations, collapse))
    answers = await run_msearch(resources, bodies)
    if not answers:
        return {"total": 0, "hits": []}
    *rankings, union = answers
    hits: dict[str, dict[str, Any]] = {}
    for answer in reversed(rankings):  # the lexical hit (with highlights) wins
        hits.update((hit["_id"], hit) for hit in answer["hits"]["hits"])
    ranked = fuse([hit["_id"] for hit in answer["hits"]["hits"]] for answer in rankings)
    if collapse:
        story_of = {doc_id: hits[doc_id]["_source"].get("story_id") for doc_id, _ in ranked}
        ranked = collapse_stories(ranked, story_of)
    end = offset + params.size
    page = [{**hits[doc_id], "_score": score} for doc_id, score in ranked[offset:end]]
    aggs = union.get("aggregations", {})
    return {
        "total": int(aggs["stories"]["value"]) if collapse else total_hits(union),
        "hits": [hit_data(hit, _matched(params)) for hit in page],
        "next_cursor": encode_offset(end) if len(ranked) > end and end < WINDOW else None,
        "took_ms": max(int(answer.get("took", 0)) for answer in answers),
        "facets": facets_data(aggs if params.facets else None),
    }


async def add_stories(resources: Resources, hits: list[dict[str, Any]]) -> None:
    """Each hit's story: article count and first article per language (one aggregation)."""
    story_ids = sorted({hit["story_id"] for hit in hits if hit.get("story_id")})
    if not story_ids:
        return
    response = await run_search(resources, story_summary_request(story_ids))
    summaries = read_story_summaries(response)
    for hit in hits:
        hit["story"] = summaries.get(hit.get("story_id") or "")
