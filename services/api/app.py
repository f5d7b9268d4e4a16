"""The gateway: search and read enriched articles, and accept new ones into the chain.

One pooled Elasticsearch client and one Kafka producer per process, created in the lifespan
and handed to routes as ``Annotated`` dependencies. Errors become ``HTTPException`` only here,
at the edge, with a reason a consumer can act on.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import uvicorn
from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware

from services.api.routers import feature_routers
from services.api.search import InvalidCursorError, SearchParams, build_search, encode_cursor
from services.ingest.publisher import Publisher
from services.ingest.sources import raw_from_submission
from shared.elastic import get_document, make_client, ping
from shared.errors import BrokerError
from shared.http import operational_router
from shared.kafka import ensure_topics
from shared.models import (
    Accepted,
    ArticleAccepted,
    ArticleSubmission,
    EnrichedArticle,
    EntitySummary,
    SearchHit,
    SearchResponse,
)
from shared.settings import ApiSettings
from shared.telemetry import configure_telemetry, shutdown_tracing

log = logging.getLogger(__name__)

ARTICLE_ID = Path(pattern=r"^[0-9a-f]{32}$", description="The article's 32-hex-character id.")


class Resources:
    """Per-process clients, created in the lifespan."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.es: AsyncElasticsearch = make_client(settings)
        self.publisher = Publisher(settings, origin="api")
        self._key_digests = [
            hashlib.sha256(key.get_secret_value().encode()).digest() for key in settings.api_keys
        ]

    def key_allowed(self, key: str | None) -> bool:
        """Constant-time check of an API key against the configured (hashed) keys."""
        if not self._key_digests:
            return True
        digest = hashlib.sha256((key or "").encode()).digest()
        return any(hmac.compare_digest(digest, allowed) for allowed in self._key_digests)


def get_resources(request: Request) -> Resources:
    """The process's clients."""
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


def require_write_key(
    resources: ResourcesDep,
    x_api_key: Annotated[str | None, Header(description="API key for write endpoints.")] = None,
) -> None:
    """Refuse a write without a valid key (when keys are configured)."""
    if not resources.key_allowed(x_api_key):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a valid X-API-Key header is required for writes"
        )


WriteKeyDep = Annotated[None, Depends(require_write_key)]


def _hit(raw: dict[str, Any]) -> SearchHit:
    source = raw.get("_source", {})
    entities = [
        EntitySummary(id=e["id"], name=e.get("name", e["id"]), type=e.get("type", "MISC"))
        for e in source.get("entities", [])
        if "id" in e
    ]
    highlight = {
        key.removeprefix("search_"): value for key, value in (raw.get("highlight") or {}).items()
    }
    return SearchHit(
        id=source.get("id", raw.get("_id")),
        title=source.get("title"),
        language=source.get("language", "und"),
        script=source.get("script"),
        source=source.get("source"),
        url=source.get("url"),
        published_at=source.get("published_at"),
        entities=entities,
        score=raw.get("_score"),
        highlight=highlight,
        trace_id=source.get("trace_id"),
    )


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
        try:
            yield
        finally:
            await resources.publisher.stop()
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
    )
    app.state.resources = resources
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
        )

    @app.middleware("http")
    async def limit_body_size(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (
            not length.isdigit() or int(length) > settings.api_max_body_bytes
        ):
            limit = settings.api_max_body_bytes
            return JSONResponse(
                {"detail": f"request body exceeds the limit of {limit} bytes"},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
        return await call_next(request)

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

    app.include_router(operational_router("api", [resources.publisher.ready, es_check]))
    for router in feature_routers():
        app.include_router(router)

    @app.get("/search", response_model=SearchResponse, tags=["search"])
    async def search_articles(
        resources: ResourcesDep,
        q: Annotated[str | None, Query(max_length=500, description="Text in any script.")] = None,
        lang: Annotated[
            list[str], Query(description="Language codes (ISO 639-1).", max_length=20)
        ] = [],  # noqa: B006
        entity: Annotated[
            list[str], Query(description="Entity ids, e.g. geo:PK.", max_length=20)
        ] = [],  # noqa: B006
        published_from: Annotated[datetime | None, Query(alias="from")] = None,
        published_to: Annotated[datetime | None, Query(alias="to")] = None,
        size: Annotated[int, Query(ge=1, le=100)] = 10,
        sort: Annotated[Literal["relevance", "date"], Query()] = "relevance",
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> SearchResponse:
        """Search articles by text, language, entity and publication date."""
        params = SearchParams(
            q=q,
            languages=tuple(lang),
            entities=tuple(entity),
            published_from=published_from,
            published_to=published_to,
            size=min(size, settings.api_max_page_size),
            sort=sort,
            cursor=cursor,
        )
        try:
            request = build_search(params)
            response = await resources.es.search(index=settings.index_alias, **request)
        except InvalidCursorError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
        except ApiError as exc:
            if exc.meta.status == 404:
                return SearchResponse(total=0, hits=[])
            if exc.meta.status == 400:
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST, "the search could not be run"
                ) from exc
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, "search backend error") from exc
        except TransportError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
            ) from exc
        raw_hits = response["hits"]["hits"]
        page = raw_hits[: params.size]
        next_cursor = (
            encode_cursor(page[-1]["sort"]) if len(raw_hits) > params.size and page else None
        )
        total = response["hits"]["total"]
        return SearchResponse(
            total=total["value"] if isinstance(total, dict) else int(total),
            hits=[_hit(hit) for hit in page],
            next_cursor=next_cursor,
            took_ms=response.get("took"),
        )

    @app.get(
        "/articles/{article_id}",
        response_model=EnrichedArticle,
        tags=["articles"],
        responses={404: {"description": "No article with this id."}},
    )
    async def get_article(
        resources: ResourcesDep, article_id: Annotated[str, ARTICLE_ID]
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

    async def _publish(submissions: list[ArticleSubmission]) -> list[str]:
        articles = [raw_from_submission(submission) for submission in submissions]
        try:
            await resources.publisher.publish_many(articles, new_trace=False)
        except BrokerError as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "the broker is unavailable; retry later"
            ) from exc
        return [article.id for article in articles]

    @app.post(
        "/articles",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ArticleAccepted,
        tags=["articles"],
    )
    async def post_article(_: WriteKeyDep, submission: ArticleSubmission) -> ArticleAccepted:
        """Submit one article to the pipeline; answers with its stable id."""
        return ArticleAccepted(id=(await _publish([submission]))[0])

    @app.post(
        "/articles/batch",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=Accepted,
        tags=["articles"],
    )
    async def post_articles(_: WriteKeyDep, submissions: list[ArticleSubmission]) -> Accepted:
        """Submit 1 to 500 articles at once."""
        if not 1 <= len(submissions) <= 500:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "a batch holds 1 to 500 articles"
            )
        return Accepted(ids=await _publish(submissions))

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
