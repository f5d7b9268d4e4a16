"""Publishing raw articles to ``articles.raw``: one trace per article starts here.

Used by the ingest service, the API's ``POST /articles`` and the benchmarks. Each article gets
its own span (a new root for file and feed input; a child of the HTTP request span for API
input) and the Kafka instrumentation writes that span's ``traceparent`` into the message
headers, which enrich and index continue.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import Counter, Histogram

from shared.errors import BrokerError
from shared.kafka import broker_reachable, encode_event, event_headers, make_producer
from shared.models import RawArticle
from shared.settings import KhabarSettings

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

    async def _send(self, article: RawArticle, new_trace: bool) -> asyncio.Future[object]:
        parent = otel_context.Context() if new_trace else None
        with tracer.start_as_current_span(
            "ingest article",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={"khabar.article_id": article.id, "khabar.origin": self.origin},
        ):
            future: asyncio.Future[object] = await self.producer.send(
                self.settings.topics.raw,
                encode_event(article),
                key=article.id.encode(),
                headers=event_headers(),
            )
            return future

    async def publish(self, article: RawArticle, *, new_trace: bool = False) -> None:
        """Publish one article and wait until the broker has it."""
        await self.publish_many([article], new_trace=new_trace)

    async def publish_many(self, articles: Iterable[RawArticle], *, new_trace: bool = True) -> int:
        """Publish articles (pipelined) and wait until the broker acknowledged all of them."""
        started = time.perf_counter()
        try:
            futures = [await self._send(article, new_trace) for article in articles]
            if futures:
                await asyncio.gather(*futures)
        except KafkaError as exc:
            raise BrokerError(f"publishing to {self.settings.topics.raw} failed: {exc}") from exc
        PUBLISHED.labels(self.origin).inc(len(futures))
        PUBLISH_SECONDS.labels(self.origin).observe(time.perf_counter() - started)
        return len(futures)
