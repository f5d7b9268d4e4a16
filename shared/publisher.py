"""Publishing raw articles to ``articles.raw``: one trace per article starts here.

Used by the ingest service, the API's ``POST /articles`` and ``POST /articles/batch``, and the
benchmarks. Each article gets its own "ingest article" span (see
:func:`shared.telemetry.start_message_span`) and the Kafka instrumentation writes the trace
into the message headers, which enrich and index continue:

- :meth:`Publisher.publish`, one article: the span is a child of the current span, so a single
  ``POST /articles`` request (which is about that article alone) opens the article's trace and
  its journey shows the request stage, as it always has.
- :meth:`Publisher.publish_many`, many articles (a batch request, a file, a feed): each
  article's span is the root of the article's own trace, linked to the current span (the
  batch request's, the file's or the feed read's). A batch of one follows the same rule, so
  the rule depends on the path taken, never on how many articles a batch happens to hold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from shared.errors import BrokerError
from shared.kafka import broker_reachable, encode_event, event_headers, make_producer
from shared.models import RawArticle
from shared.settings import KhabarSettings
from shared.telemetry import start_message_span

tracer = trace.get_tracer("khabar.ingest")
PUBLISHED = Counter("ingest_articles_total", "Raw articles published", ["origin"])
PUBLISH_SECONDS = Histogram(
    "ingest_publish_seconds",
    "Time from publishing a batch of raw articles to the broker's acknowledgement",
    ["origin"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class Publisher:
    """An aiokafka producer for raw articles."""

    def __init__(self, settings: KhabarSettings, origin: str = "ingest") -> None:
        self.settings = settings
        self.origin = origin
        self._producer: AIOKafkaProducer | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        """The connected producer; :class:`BrokerError` before :meth:`start` succeeded."""
        if self._producer is None:
            raise BrokerError("the Kafka producer is not connected")
        return self._producer

    async def start(self) -> None:
        """Connect to the broker (aiokafka objects must be created inside the event loop)."""
        producer = make_producer(self.settings)
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise BrokerError(
                f"cannot reach Kafka at {self.settings.kafka_bootstrap}: {exc}"
            ) from exc
        self._producer = producer

    async def stop(self) -> None:
        """Flush and disconnect."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ready(self) -> dict[str, bool]:
        """Readiness check: the broker answers."""
        return {"kafka": self._producer is not None and await broker_reachable(self._producer)}

    async def _send(self, article: RawArticle, own_trace: bool) -> asyncio.Future[object]:
        with start_message_span(
            tracer,
            "ingest article",
            own_trace=own_trace,
            attributes={"khabar.article_id": article.id, "khabar.origin": self.origin},
        ):
            future: asyncio.Future[object] = await self.producer.send(
                self.settings.topics.raw,
                encode_event(article),
                key=article.id.encode(),
                headers=event_headers(article=article),
            )
            return future

    async def publish(self, article: RawArticle) -> None:
        """Publish one article in the current trace and wait until the broker has it."""
        await self._publish([article], own_trace=False)

    async def publish_many(self, articles: Iterable[RawArticle]) -> int:
        """Publish articles, each in a trace of its own linked to the current span.

        Pipelined: returns once the broker acknowledged all of them.
        """
        return await self._publish(articles, own_trace=True)

    async def _publish(self, articles: Iterable[RawArticle], own_trace: bool) -> int:
        started = time.perf_counter()
        try:
            futures = [await self._send(article, own_trace) for article in articles]
            if futures:
                await asyncio.gather(*futures)
        except KafkaError as exc:
            raise BrokerError(f"publishing to {self.settings.topics.raw} failed: {exc}") from exc
        PUBLISHED.labels(self.origin).inc(len(futures))
        PUBLISH_SECONDS.labels(self.origin).observe(time.perf_counter() - started)
        return len(futures)
