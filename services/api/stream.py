"""``GET /stream``: Server-Sent Events of newly indexed articles matching a query or entity.

For alerting ("tell me when anything about Nabil Munir appears, in any language"). The gateway
polls the index — the same query as ``/search``, sorted by ``indexed_at`` then ``id``, paged with
``search_after`` — so a stream needs no extra infrastructure and sees exactly what search sees.
Only documents indexed at least ``KHABAR_API_STREAM_SETTLE_SECONDS`` ago are reported: with
several index workers, one article can be stamped earlier but become visible later than
another, and the settle window keeps the cursor from passing it. Each event's ``id`` is the
cursor, so a client that reconnects with ``Last-Event-ID`` resumes where it stopped.

Streams are bounded: at most :data:`MAX_STREAMS` at once per process, each closed after
``KHABAR_API_STREAM_MAX_SECONDS`` (clients reconnect with ``Last-Event-ID``), and polling stops
as soon as the client disconnects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from services.api.contract import CURSOR_PATTERN, EntityIdParam, InstantParam, LanguageParam
from services.api.deps import SEARCH_ERRORS, ReadKeyDep, Resources, ResourcesDep, run_search
from services.api.errors import error_responses
from services.api.resolve import QueryTooLongError
from services.api.search import (
    SOURCE_FIELDS,
    InvalidCursorError,
    SearchParams,
    build_query,
    decode_cursor,
    encode_cursor,
    read_hit,
)

router = APIRouter(tags=["search"])

#: Concurrent streams per gateway process; each polls the search server once a poll interval.
MAX_STREAMS = 100
#: Hits read per poll; more wait for the next poll.
BATCH = 100
#: A comment line this often keeps proxies from closing an idle stream.
HEARTBEAT_SECONDS = 10
#: How long a client waits before reconnecting after the stream closes.
RETRY_MS = 3000

_open_streams = 0

EVENT_EXAMPLE = (
    "event: ready\ndata: {}\nretry: 3000\n\n"
    'id: WzE3NDEyMzQ1Njc4OTAsICIwMTIzIl0\nevent: article\ndata: {"id": "0123…", "title": '
    '"پاکستان اور روس …", "language": "ur", "entities": […], …}\n\n'
)


def _stream_request(params: SearchParams, after: list[Any], until: datetime) -> dict[str, Any]:
    query = build_query(params)
    window = {"range": {"indexed_at": {"lte": until.isoformat()}}}
    if "bool" in query:
        query["bool"]["filter"].append(window)
    else:
        query = {"bool": {"must": [query], "filter": [window]}}
    return {
        "query": query,
        "size": BATCH,
        "sort": [{"indexed_at": "asc"}, {"id": "asc"}],
        "search_after": after,
        "source_includes": SOURCE_FIELDS,
    }


async def _events(
    resources: Resources, params: SearchParams, after: list[Any], max_seconds: float
) -> AsyncIterator[ServerSentEvent]:
    """The stream's events; sse-starlette frames them, sends keep-alives and stops the
    generator (cancelling it) when the client goes away."""
    global _open_streams
    settings = resources.settings
    deadline = time.monotonic() + max_seconds
    _open_streams += 1  # counted here: a generator that never starts never reaches finally
    try:
        yield ServerSentEvent("{}", event="ready", retry=RETRY_MS)
        while time.monotonic() < deadline:
            until = datetime.now(UTC) - timedelta(seconds=settings.api_stream_settle_seconds)
            try:
                response = await run_search(resources, _stream_request(params, after, until))
            except HTTPException as exc:
                yield ServerSentEvent(json.dumps({"detail": exc.detail}), event="error")
                response = None
            hits = response["hits"]["hits"] if response else []
            for hit in hits:
                after = hit["sort"]
                article = read_hit(hit).model_dump_json(exclude={"score", "highlight"})
                yield ServerSentEvent(article, event="article", id=encode_cursor(after))
            if len(hits) < BATCH:  # else more are waiting: read them before sleeping
                await asyncio.sleep(settings.api_stream_poll_seconds)
        end = {"reason": "stream time limit; reconnect with Last-Event-ID"}
        yield ServerSentEvent(json.dumps(end), event="end")
    finally:
        _open_streams -= 1


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        **SEARCH_ERRORS,
        200: {
            "description": "text/event-stream: a 'ready' event, then one 'article' event per "
            "newly indexed matching article (data: a search hit as JSON; id: a resume cursor), "
            "comments as keep-alives, and 'end' when the time limit is reached.",
            "content": {"text/event-stream": {"example": EVENT_EXAMPLE}},
        },
        **error_responses(
            503, _503="Too many open streams on this gateway, or the search server is down."
        ),
    },
)
async def stream_articles(
    resources: ResourcesDep,
    _: ReadKeyDep,
    q: Annotated[
        str | None, Query(max_length=500, description="Words or names in any script.")
    ] = None,
    entity: Annotated[
        list[EntityIdParam], Query(description="Entity ids every article must mention.")
    ] = [],  # noqa: B006
    lang: Annotated[list[LanguageParam], Query(description="Language codes.")] = [],  # noqa: B006
    since: Annotated[
        InstantParam | None,
        Query(description="Report articles indexed after this instant (default: now)."),
    ] = None,
    max_seconds: Annotated[
        float | None, Query(gt=0, le=86_400, description="Close the stream after this long.")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=500,
            pattern=CURSOR_PATTERN,
            description="Resume cursor: the id of the last event received.",
        ),
    ] = None,
) -> EventSourceResponse:
    """Server-Sent Events of newly indexed articles matching a query, entities or languages."""
    settings = resources.settings
    try:
        resolved = resources.resolver.resolve(q, settings.api_max_query_words) if q else None
        if last_event_id:
            after = decode_cursor(last_event_id)
        else:
            start = since or datetime.now(UTC)
            after = [int(start.timestamp() * 1000), ""]
    except (QueryTooLongError, InvalidCursorError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if _open_streams >= MAX_STREAMS:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "too many open streams")
    params = SearchParams(q=q, resolved=resolved, entities=tuple(entity), languages=tuple(lang))
    limit = min(max_seconds or settings.api_stream_max_seconds, settings.api_stream_max_seconds)
    return EventSourceResponse(
        _events(resources, params, after, limit), ping=HEARTBEAT_SECONDS, sep="\n"
    )
