"""The index service: a faust agent that bulk-writes enriched articles to Elasticsearch.

Batches come from ``stream.take_events(n, within=s)``. Each batch is one bulk request with
``_id`` = article id, so a redelivered article overwrites its document instead of duplicating
it. Transient failures (connection errors, 429, 5xx) are retried with capped exponential
backoff *inside* the agent: while Elasticsearch is down the agent does not return, so faust
stops fetching once its buffers are full (bounded memory) and no offset advances. Faust acks
the batch's events only after the agent body returns, i.e. after the bulk succeeded. Items the
search server rejects for good (mapping errors, 4xx) and undecodable messages go to
``articles.dlq`` with their original bytes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from elasticsearch import ApiError, AsyncElasticsearch, ConnectionTimeout
from elasticsearch import ConnectionError as EsConnectionError
from opentelemetry import trace
from opentelemetry.propagate import extract
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

from services.index.stories import (
    Placement,
    StoryAssigner,
    StoryPolicy,
    encoder_for,
    story_document,
)
from shared.elastic import ensure_index, make_client, ping
from shared.kafka import decode_headers
from shared.models import EnrichedArticle
from shared.process import check_kafka_login, refuse_on_startup_errors
from shared.settings import IndexSettings
from shared.story_vectors import shared_story_encoder
from shared.streaming import bytes_topic, dead_letter, hand_back, make_app, run_worker
from shared.vectors import model_dims

log = logging.getLogger(__name__)
T = TypeVar("T")
tracer = trace.get_tracer("khabar.index")

DOCUMENTS = Counter("index_documents_total", "Documents written", ["language"])
BULK_SECONDS = Histogram(
    "index_bulk_seconds",
    "Duration of one bulk request",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "index_batch_size", "Articles per bulk", buckets=(1, 5, 10, 50, 100, 250, 500, 1000)
)
BULK_ERRORS = Counter(
    "index_bulk_item_errors_total", "Bulk items rejected by Elasticsearch", ["status"]
)
RETRIES = Counter("index_bulk_retries_total", "Bulk requests retried after a transient error")
DEAD_LETTERS = Counter(
    "index_dead_letters_total", "Messages sent to the dead-letter topic", ["error_type"]
)
END_TO_END = Histogram(
    "index_ingest_to_indexed_seconds",
    "Time from ingest to indexed (freshness)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10, 30, 60),
)
BACKEND_UP = Gauge("index_search_backend_up", "1 while the last bulk request succeeded")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, (EsConnectionError, ConnectionTimeout, OSError)):
        return True
    return isinstance(exc, ApiError) and exc.meta.status in (429, 502, 503, 504)


def _before_retry(retry_state: Any) -> None:
    RETRIES.inc()
    BACKEND_UP.set(0)
    log.warning(
        "bulk failed, retrying",
        extra={
            "attempt": retry_state.attempt_number,
            "error": repr(retry_state.outcome.exception()),
        },
    )


def story_policy(settings: IndexSettings) -> StoryPolicy:
    """The story thresholds the settings ask for."""
    return StoryPolicy(
        min_similarity=settings.index_story_similarity,
        entity_similarity=settings.index_story_entity_similarity,
        min_shared_entities=settings.index_story_shared_entities,
        unshared_similarity=settings.index_story_unshared_similarity,
        window_hours=settings.index_story_window_hours,
    )


async def _until_it_passes(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, retried with capped exponential backoff while the failure is transient."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(_transient),
        wait=wait_exponential_jitter(initial=0.2, max=10),
        before_sleep=_before_retry,
        reraise=True,
    ):
        with attempt:
            result = await call()
    return result


class _Pending(NamedTuple):
    message: Any
    article: EnrichedArticle


class IndexWorker:
    """One index process, built from its settings: the faust app, its topics, its agent and
    its Elasticsearch client (created on first use; tests may hand one in).

    Nothing happens at import: :func:`main` builds a worker from the environment.
    """

    def __init__(self, settings: IndexSettings, search: AsyncElasticsearch | None = None) -> None:
        self.settings = settings
        self.app, self.state = make_app("index", settings, settings.index_port)
        self.enriched_topic = bytes_topic(self.app, settings.topics.enriched)
        self.dlq_topic = bytes_topic(self.app, settings.topics.dlq)
        self._es = search
        self.stories: StoryAssigner | None = None
        if settings.index_stories:
            encode = encoder_for(shared_story_encoder(settings.index_story_threads))
            self.stories = StoryAssigner(
                self.es, settings.index_alias, encode, story_policy(settings)
            )
        self.state.checks.append(self._search_ready)
        self.state.on_started.append(self._prepare_index)
        self.state.on_stopping.append(self._close_client)
        self.app.agent(self.enriched_topic, name=f"{__name__}.index_articles")(self._agent)

    def es(self) -> AsyncElasticsearch:
        """The process's Elasticsearch client (one pooled client)."""
        if self._es is None:
            self._es = make_client(self.settings)
        return self._es

    async def _search_ready(self) -> dict[str, bool]:
        return {"elasticsearch": await ping(self.es())}

    async def _prepare_index(self) -> None:
        async for attempt in AsyncRetrying(
            wait=wait_exponential_jitter(initial=0.5, max=10), reraise=True
        ):
            with attempt:
                await ensure_index(self.es(), self.settings.index_alias, model_dims())

    async def _close_client(self) -> None:
        if self._es is not None:
            await self._es.close()

    async def _agent(self, stream: Any) -> None:
        """Bulk-write enriched articles in batches."""
        async for events in stream.take_events(
            self.settings.index_batch_size, within=self.settings.index_batch_seconds
        ):
            try:
                await self.write_batch(events)
            except BaseException:
                # Cancelled mid-retry (SIGTERM while Elasticsearch is down) or a non-transient
                # failure: none of this batch may be committed; the next owner gets it again.
                hand_back(events)
                raise

    async def write_batch(self, events: list[Any]) -> None:
        """Bulk-index one batch, retrying transient failures; dead-letter what is rejected."""
        pending, links = await self._decode(events)
        if not pending:
            return
        BATCH_SIZE.observe(len(pending))
        placements = await self._stories([article for _, article in pending])
        alias = self.settings.index_alias
        operations: list[dict[str, Any]] = []
        for (_, article), placement in zip(pending, placements, strict=True):
            operations.append({"index": {"_index": alias, "_id": article.id}})
            operations.append(story_document(article, placement))
        with tracer.start_as_current_span(
            "elasticsearch bulk",
            kind=trace.SpanKind.CLIENT,
            links=links,
            attributes={"db.system": "elasticsearch", "khabar.batch_size": len(pending)},
        ):
            response = await self._bulk(operations)
        await self._settle(pending, response["items"])

    async def _decode(self, events: list[Any]) -> tuple[list[_Pending], list[trace.Link]]:
        """The batch's enriched articles and their trace links; others are dead-lettered."""
        pending: list[_Pending] = []
        links: list[trace.Link] = []
        for event in events:
            message = event.message
            try:
                article = EnrichedArticle.model_validate_json(message.value)
            except (ValidationError, ValueError) as exc:
                await self._dead_letter(message, type(exc).__name__, str(exc))
                continue
            carrier = decode_headers(message.headers)
            span_context = trace.get_current_span(extract(carrier)).get_span_context()
            if span_context.is_valid:
                links.append(trace.Link(span_context))
            pending.append(_Pending(message, article))
        return pending, links

    async def _stories(self, articles: list[EnrichedArticle]) -> list[Placement]:
        """Each article's story, retried like the bulk while the search server is away (with
        stories off, each article is a story of its own)."""
        stories = self.stories
        if stories is None:
            return [Placement(article.id, None) for article in articles]
        return await _until_it_passes(lambda: stories.assign(articles))

    async def _bulk(self, operations: list[dict[str, Any]]) -> Any:
        """One bulk request, retried on transient failures until it passes."""
        started = time.perf_counter()
        response = await _until_it_passes(
            lambda: self.es().bulk(operations=operations, refresh=False)
        )
        BULK_SECONDS.observe(time.perf_counter() - started)
        BACKEND_UP.set(1)
        return response

    async def _settle(self, pending: list[_Pending], items: list[dict[str, Any]]) -> None:
        """Count what was written; dead-letter each item Elasticsearch rejected for good."""
        now = time.time()
        for (message, article), item in zip(pending, items, strict=True):
            result = item.get("index", {})
            status = int(result.get("status", 500))
            if status >= 300:
                BULK_ERRORS.labels(str(status)).inc()
                error = result.get("error", {})
                await self._dead_letter(
                    message,
                    str(error.get("type", "bulk_item_error")),
                    str(error.get("reason", error)),
                    article.id,
                )
                continue
            DOCUMENTS.labels(article.language).inc()
            END_TO_END.observe(max(0.0, now - article.ingested_at.timestamp()))

    async def _dead_letter(
        self, message: Any, exc_type: str, error: str, article_id: str | None = None
    ) -> None:
        DEAD_LETTERS.labels(exc_type).inc()
        await dead_letter(
            self.dlq_topic,
            message,
            stage="index",
            error_type=exc_type,
            error=error,
            article_id=article_id,
        )


def main() -> None:
    """Run the index worker until SIGTERM."""
    with refuse_on_startup_errors("index"):
        settings = IndexSettings()
        check_kafka_login(settings)
        worker = IndexWorker(settings)
    run_worker(worker.app, worker.state, "index", worker.settings)
