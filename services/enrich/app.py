"""The enrich service: a faust agent from ``articles.raw`` to ``articles.enriched``.

Thin by design: it decodes, calls :meth:`Enricher.enrich`, publishes, and dead-letters what it
cannot process (with the original bytes, the error and topic/partition/offset) so one poison
message never stops the partition. Articles come in small batches (``stream.take_events``):
each is enriched and handed to the producer, then the batch waits for all the broker's acks, so
the round trip is paid once a batch. Offsets advance only when the whole batch is acknowledged
(each enriched article, or its dead letter), so a raw offset is never committed ahead of its
output (at-least-once; the index's ``_id`` makes redelivery idempotent). A batch interrupted by
shutdown is handed back, never acked. Enrichment is CPU-bound and synchronous; input is capped
(``KHABAR_ENRICH_MAX_CHARS``) and batches are small, so the loop never blocks long enough to miss
a poll. Scale with partitions and processes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from services.enrich.pipeline import Enricher
from shared.events import ENRICHED_ARTICLE, headers_for
from shared.models import EnrichedArticle, RawArticle
from shared.process import check_kafka_login, refuse_on_startup_errors, settle_heap
from shared.settings import EnrichSettings
from shared.streaming import (
    bytes_topic,
    dead_letter,
    hand_back,
    make_app,
    run_worker,
    send,
    working_on,
)

log = logging.getLogger(__name__)

ARTICLES = Counter("enrich_articles_total", "Articles enriched", ["language"])
FAILURES = Counter(
    "enrich_dead_letters_total", "Messages sent to the dead-letter topic", ["error_type"]
)
SECONDS = Histogram(
    "enrich_seconds",
    "Time to enrich one article",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5),
)
CONFIDENCE = Histogram(
    "enrich_language_confidence",
    "Language-ID confidence",
    ["language"],
    buckets=(0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
)
ENTITIES = Counter("enrich_entities_total", "Entities found", ["linked"])
LAG_SECONDS = Histogram(
    "enrich_ingest_to_enriched_seconds",
    "Time from ingest to enriched",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)


def _no_context(event: Any) -> AbstractContextManager[None]:
    return nullcontext()


class EnrichWorker:
    """One enrich process, built from its settings: the faust app, its topics and its agent.

    Nothing happens at import: :func:`main` builds a worker from the environment, tests build
    one from explicit settings (and may hand it an enricher). The models load when the worker
    has started, before the first batch.
    """

    def __init__(self, settings: EnrichSettings, enricher: Enricher | None = None) -> None:
        self.settings = settings
        self.app, self.state = make_app("enrich", settings, settings.enrich_port)
        self.raw_topic = bytes_topic(self.app, settings.topics.raw)
        self.enriched_topic = bytes_topic(self.app, settings.topics.enriched)
        self.dlq_topic = bytes_topic(self.app, settings.topics.dlq)
        self._enricher = enricher
        self.state.on_started.append(self._load_models)
        self.app.agent(self.raw_topic, name=f"{__name__}.enrich_articles")(self._agent)

    def enricher(self) -> Enricher:
        """The process's enricher, loaded once (models and knowledge base)."""
        if self._enricher is None:
            self._enricher = Enricher(
                max_chars=self.settings.enrich_max_chars,
                ner_max_chars=self.settings.enrich_ner_max_chars,
            )
        return self._enricher

    async def _load_models(self) -> None:
        self.enricher()
        settle_heap()  # the models and the knowledge base live as long as the process

    async def _agent(self, stream: Any) -> None:
        """Enrich raw articles a batch at a time; dead-letter what cannot be processed."""
        async for events in stream.take_events(
            self.settings.enrich_batch_size, within=self.settings.enrich_batch_seconds
        ):
            try:
                await self.process_batch(events, lambda event: working_on(stream, event))
            except BaseException:
                # Cancelled (shutdown, rebalance) or the broker refused even a dead letter:
                # none of the batch may be committed; the partition's next owner redelivers it.
                hand_back(events)
                raise

    async def process_batch(
        self,
        events: Sequence[Any],
        context: Callable[[Any], AbstractContextManager[None]] = _no_context,
    ) -> None:
        """Enrich every event and hand its output to the producer, then wait for all the acks.

        The broker's round trip is paid once a batch instead of once an article; every output
        is still acknowledged (or its input dead-lettered) before the batch's offsets are
        committed. ``context(event)`` is entered while working on one event (its trace span and
        log fields).
        """
        in_flight: list[tuple[Any, Awaitable[Any]]] = []
        for event in events:
            with context(event):
                output = await self._enrich(event)
                if output is not None:
                    key, value = output
                    delivery = await send(
                        self.enriched_topic,
                        key=key,
                        value=value,
                        headers=headers_for(ENRICHED_ARTICLE, event_id=key.decode()),
                    )
                    in_flight.append((event, delivery))
            await asyncio.sleep(0)  # let the producer and the fetcher run between articles
        for event, delivery in in_flight:
            try:
                await delivery
            except (ProducerSendError, KafkaError) as exc:
                # Refused for good (e.g. larger than the broker accepts) or still undeliverable
                # after the producer's own retries: the input goes to the DLQ, to be replayed.
                with context(event):
                    await self._dead_letter(event, exc)

    async def _enrich(self, event: Any) -> tuple[bytes, bytes] | None:
        """The enriched article's key and JSON, or None when the input was dead-lettered."""
        message = event.message
        started = time.perf_counter()
        try:
            raw = RawArticle.model_validate_json(message.value)
            enriched = self.enricher().enrich(raw)
        except (ValidationError, ValueError, UnicodeError) as exc:
            await self._dead_letter(event, exc)
            return None
        except Exception as exc:  # noqa: BLE001 - poison message policy: dead-letter and go on
            log.exception("enrichment failed", extra={"offset": message.offset})
            await self._dead_letter(event, exc)
            return None
        _observe(raw, enriched, time.perf_counter() - started)
        log.debug(
            "enriched",
            extra={"article_id": raw.id, "partition": message.partition, "offset": message.offset},
        )
        return raw.id.encode(), enriched.model_dump_json().encode()

    async def _dead_letter(self, event: Any, exc: BaseException) -> None:
        FAILURES.labels(type(exc).__name__).inc()
        await dead_letter(
            self.dlq_topic,
            event.message,
            stage="enrich",
            error_type=type(exc).__name__,
            error=str(exc) or type(exc).__name__,
        )


def _observe(raw: RawArticle, enriched: EnrichedArticle, seconds: float) -> None:
    SECONDS.observe(seconds)
    ARTICLES.labels(enriched.language).inc()
    CONFIDENCE.labels(enriched.language).observe(enriched.language_confidence)
    for entity in enriched.entities:
        ENTITIES.labels(str(entity.linked).lower()).inc()
    LAG_SECONDS.observe(max(0.0, time.time() - raw.ingested_at.timestamp()))


def main() -> None:
    """Run the enrich worker until SIGTERM."""
    with refuse_on_startup_errors("enrich"):
        settings = EnrichSettings()
        check_kafka_login(settings)
        worker = EnrichWorker(settings)
    run_worker(worker.app, worker.state, "enrich", worker.settings)
