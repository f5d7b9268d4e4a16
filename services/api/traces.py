"""``GET /articles/{id}/trace``: where an article went through the chain, and how long it took.

The indexed document names its pipeline trace (``trace_id``, stored by enrich). With the
Elasticsearch span store (the default without a collector) the route reads that trace's spans,
plus the batched bulk write that links to it, and answers with per-stage timings; an article
submitted in a batch (or read from a file or feed) is a trace of its own, and ``links`` names
the span of the request (or read) that brought it. An article that never reached the index
(dead-lettered, or still in flight) is found through the spans that carried its id. Behind a
collector the spans live in Jaeger; the answer links there. ``GET /traces/{id}`` shows any
stored trace the same way (an API request, a batch write).
"""

from __future__ import annotations

from typing import Annotated, Any

from elasticsearch import TransportError
from fastapi import APIRouter, HTTPException, Path, status

from services.api.deps import READ_ERRORS, ReadKeyDep, Resources, ResourcesDep
from services.api.errors import error_responses
from shared.elastic import get_document
from shared.models import ArticleTrace
from shared.telemetry import trace_store
from shared.tracestore import build_journey, find_journey_spans, latest_trace_id

router = APIRouter()

_HEX_ID = r"^[0-9a-f]{32}$"
_ERRORS = {**READ_ERRORS, **error_responses(503)}


async def _spans(resources: Resources, trace_id: str | None) -> list[dict[str, Any]]:
    """The journey's stored spans; none when spans go elsewhere (OTLP) or nowhere."""
    if trace_id is None or trace_store(resources.settings) != "elasticsearch":
        return []
    return await find_journey_spans(resources.es, resources.settings.trace_index, trace_id)


@router.get(
    "/articles/{article_id}/trace",
    response_model=ArticleTrace,
    tags=["articles"],
    responses={
        **_ERRORS,
        **error_responses(404, _404="Neither an indexed article nor a stored span has this id."),
    },
)
async def get_article_trace(
    resources: ResourcesDep,
    _: ReadKeyDep,
    article_id: Annotated[
        str, Path(pattern=_HEX_ID, description="The article's 32-hex-character id.")
    ],
) -> ArticleTrace:
    """An article's journey: its spans from every service and the time spent in each stage.

    The status monitor of an accepted write: from the moment this gateway accepts an article it
    answers 200 (no spans yet, ``complete`` false), so a client polls here, not
    ``GET /articles/{id}``, which answers once the article is indexed.
    """
    settings = resources.settings
    accepted = article_id in resources.accepted
    try:
        document = await get_document(resources.es, settings.index_alias, article_id)
        trace_id: str | None = document.get("trace_id") if document else None
        if trace_id is None and trace_store(settings) == "elasticsearch":
            trace_id = await latest_trace_id(resources.es, settings.trace_index, article_id)
        if trace_id is None and accepted:
            trace_id = resources.accepted.get(article_id)
        spans = await _spans(resources, trace_id)
    except TransportError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
        ) from exc
    if document is None and trace_id is None and not accepted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no article or trace for id {article_id}")
    return build_journey(
        article_id,
        trace_id,
        spans,
        store=trace_store(settings),
        jaeger_url=settings.jaeger_url,
        enrich_timings_ms=(document or {}).get("timings_ms"),
    )


@router.get(
    "/traces/{trace_id}",
    response_model=ArticleTrace,
    tags=["traces"],
    responses={**_ERRORS, **error_responses(404, _404="No stored span has this trace id.")},
)
async def get_trace(
    resources: ResourcesDep,
    _: ReadKeyDep,
    trace_id: Annotated[
        str, Path(pattern=_HEX_ID, description="A W3C trace id (32 hex characters).")
    ],
) -> ArticleTrace:
    """Any stored trace (an API request, a batch write), with the traces that link to it."""
    store = trace_store(resources.settings)
    try:
        spans = await _spans(resources, trace_id)
    except TransportError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
        ) from exc
    if not spans and store == "elasticsearch":
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no stored spans for trace {trace_id}")
    return build_journey(
        None, trace_id, spans, store=store, jaeger_url=resources.settings.jaeger_url
    )
