"""The gateway: search and read enriched articles, and accept new ones into the chain.

One pooled Elasticsearch client, one Kafka producer and the knowledge base per process
(:mod:`services.api.deps`), handed to routes as ``Annotated`` dependencies. ``/search`` reads
the query through the knowledge base (:mod:`services.api.resolve`) so names match in every
script; entity, stats and live-stream routes live in their own modules. Every request passes a
per-client rate limit; errors become ``HTTPException`` only at the edge, with a reason a
consumer can act on.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated, Literal

import uvicorn
from elasticsearch import TransportError
from fastapi import FastAPI, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware

from services.api import entities, stats, stream
from services.api.contract import (
    CURSOR_QUERY,
    FROM_QUERY,
    LANG_QUERY,
    SEARCH_EXAMPLE,
    TO_QUERY,
    EntityIdParam,
    LanguageParam,
    SourceParam,
    check_range,
    json_example,
)
from services.api.deps import (
    SEARCH_ERRORS,
    ReadKeyDep,
    Resources,
    ResourcesDep,
    WriteKeyDep,
    get_resources,
    perform_search,
    require_write_key,
)
from services.api.resolve import QueryTooLongError
from services.api.routers import feature_routers
from services.api.search import Interval, SearchParams
from services.api.security import AdmissionMiddleware
from shared.elastic import get_document, ping
from shared.errors import BrokerError
from shared.http import operational_router
from shared.kafka import ensure_topics
from shared.models import (
    Accepted,
    ArticleAccepted,
    ArticleSubmission,
    EnrichedArticle,
    EntityType,
    SearchResponse,
)
from shared.process import settle_heap
from shared.settings import ApiSettings
from shared.telemetry import (
    configure_telemetry,
    fastapi_options,
    instrument_api,
    shutdown_tracing,
)

log = logging.getLogger(__name__)

ARTICLE_ID = Path(pattern=r"^[0-9a-f]{32}$", description="The article's 32-hex-character id.")


__all__ = [
    "Resources",
    "ResourcesDep",
    "WriteKeyDep",
    "create_app",
    "get_resources",
    "main",
    "require_write_key",
]

#: Paths outside the rate limit: probes and metrics must answer a busy gateway, and the static
#: web pages cost nothing.


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API application."""
    settings = settings or ApiSettings()
    configure_telemetry("api", settings)
    resources = Resources(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = resources
        try:
            await ensure_topics(settings)
            await resources.publisher.start()
        except Exception:  # noqa: BLE001 - serve reads even when the broker is down; /readyz says so
            log.exception("Kafka unavailable at start; writes will fail until it returns")
        # Everything built so far (the knowledge base, routes, schemas, clients) lives as long
        # as the process: move it out of the collector's sight, so a full collection scans
        # only what requests allocate (it stalled every request ~70 ms otherwise).
        settle_heap()
        try:
            yield
        finally:
            await resources.publisher.stop()
            await resources.broker.close()
            await resources.es.close()
            shutdown_tracing()

    app = FastAPI(
        title="Khabar API",
        version="0.1.0",
        description=(
            "Search multilingual (Urdu, Hindi, English) news enriched with language, date and "
            "cross-script linked entities; submit articles into the pipeline."
        ),
        lifespan=lifespan,
        **fastapi_options(),
    )
    app.state.resources = resources
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
        )

    app.add_middleware(
        AdmissionMiddleware,
        keys=resources.keys,
        limiter=resources.limiter,
        max_body_bytes=settings.api_max_body_bytes,
    )
    # Outermost: every request, refused ones included, gets a span and is counted.
    instrument_api(app)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(err.get("loc", ())),
                "msg": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()[:20]
        ]
        return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    async def es_check() -> dict[str, bool]:
        return {"elasticsearch": await ping(resources.es)}

    @app.get(
        "/search",
        response_model=SearchResponse,
        tags=["search"],
        responses={**SEARCH_ERRORS, **json_example(SEARCH_EXAMPLE)},
    )
    async def search_articles(
        resources: ResourcesDep,
        _: ReadKeyDep,
        q: Annotated[
            str | None,
            Query(
                max_length=500,
                description="Words in any script. Names of places, organisations and people "
                "match articles in every script (Pakistan = پاکستان = पाकिस्तान).",
                examples=["پاکستان روس"],
            ),
        ] = None,
        lang: Annotated[list[LanguageParam], LANG_QUERY] = [],  # noqa: B006
        entity: Annotated[
            list[EntityIdParam],
            Query(description="Entity ids every article must mention, e.g. geo:PK.", max_length=20),
        ] = [],  # noqa: B006
        entity_type: Annotated[
            list[EntityType],
            Query(description="Articles mentioning an entity of any of these types.", max_length=4),
        ] = [],  # noqa: B006
        source: Annotated[
            list[SourceParam], Query(description="Source names (feeds, sites).", max_length=20)
        ] = [],  # noqa: B006
        published_from: Annotated[datetime | None, FROM_QUERY] = None,
        published_to: Annotated[datetime | None, TO_QUERY] = None,
        size: Annotated[int, Query(ge=1, le=100, description="Hits per page.")] = 10,
        sort: Annotated[
            Literal["relevance", "date"], Query(description="date = newest first.")
        ] = "relevance",
        cursor: Annotated[str | None, CURSOR_QUERY] = None,
        facets: Annotated[
            bool, Query(description="Include aggregations over all matching articles.")
        ] = True,
        interval: Annotated[Interval, Query(description="Date histogram interval.")] = "day",
    ) -> SearchResponse:
        """Search articles by text and names in any script, with filters and facets."""
        check_range(published_from, published_to)
        try:
            resolved = resources.resolver.resolve(q, settings.api_max_query_words) if q else None
        except QueryTooLongError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
        params = SearchParams(
            q=q,
            resolved=resolved,
            languages=tuple(lang),
            entities=tuple(entity),
            entity_types=tuple(entity_type),
            sources=tuple(source),
            published_from=published_from,
            published_to=published_to,
            size=min(size, settings.api_max_page_size),
            sort=sort,
            cursor=cursor,
            facets=facets,
            interval=interval,
        )
        return await perform_search(resources, params)

    @app.get(
        "/articles/{article_id}",
        response_model=EnrichedArticle,
        tags=["articles"],
        responses={404: {"description": "No article with this id."}},
    )
    async def get_article(
        resources: ResourcesDep, _: ReadKeyDep, article_id: Annotated[str, ARTICLE_ID]
    ) -> EnrichedArticle:
        """One enriched article with its entities and mentions."""
        try:
            source = await get_document(resources.es, settings.index_alias, article_id)
        except TransportError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
            ) from exc
        if source is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no article with id {article_id}")
        return EnrichedArticle.model_validate(source)

    @contextlib.contextmanager
    def _broker_or_503() -> Iterator[None]:
        try:
            yield
        except BrokerError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "the broker is unavailable; retry later"
            ) from exc

    @app.post(
        "/articles",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ArticleAccepted,
        tags=["articles"],
    )
    async def post_article(_: WriteKeyDep, submission: ArticleSubmission) -> ArticleAccepted:
        """Submit one article to the pipeline; answers with its stable id.

        The request's span opens the article's trace (the request is about this article alone).
        """
        article = submission.to_raw()
        with _broker_or_503():
            await resources.publisher.publish(article)
        return ArticleAccepted(id=article.id)

    @app.post(
        "/articles/batch",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Accepted,
        tags=["articles"],
    )
    async def post_articles(_: WriteKeyDep, submissions: list[ArticleSubmission]) -> Accepted:
        """Submit 1 to 500 articles at once.

        Each article gets a trace of its own, linked to this request's span.
        """
        if not 1 <= len(submissions) <= 500:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "a batch holds 1 to 500 articles"
            )
        articles = [submission.to_raw() for submission in submissions]
        with _broker_or_503():
            await resources.publisher.publish_many(articles)
        return Accepted(ids=[article.id for article in articles])

    # After the search and article routes: routing tries routes in order, and those are the
    # hot ones (no path here overlaps another, so the order changes nothing else).
    app.include_router(operational_router("api", [resources.publisher.ready, es_check]))
    for router in (entities.router, stats.router, stream.router, *feature_routers()):
        app.include_router(router)
    return app


def main() -> None:
    """Run the API until SIGTERM."""
    settings = ApiSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.api_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
