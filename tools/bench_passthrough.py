"""The transport ceiling for ``make bench``: the chain's hops with no enrichment and no search.

Run as two processes, exactly like the real services (``python tools/bench_passthrough.py
enrich`` and ``… index``): the same faust runtime (``shared.streaming.make_app``), the same
topics under their own prefix (``KHABAR_TOPIC_PREFIX``), one consumer group per stage, the same
JSON (de)serialisation through the pydantic models. The "enrich" hop turns each raw article into
an enriched one without looking at its text; the "index" hop batches like the index service
(``take_events``) and only counts — ``passthrough_articles_total`` on its ``/metrics``.
"""

from __future__ import annotations

import sys
from typing import Any

from prometheus_client import Counter

from shared.models import EnrichedArticle, RawArticle
from shared.settings import IndexSettings
from shared.streaming import make_app, run_worker

STAGE = sys.argv[1] if len(sys.argv) > 1 else "enrich"
PASSED = Counter("passthrough_articles_total", "Articles that passed this hop", ["stage"])

settings = IndexSettings()
app, state = make_app(f"passthrough-{STAGE}", settings, settings.index_port)
raw_topic = app.topic(settings.topics.raw, value_serializer="raw", key_serializer="raw")
enriched_topic = app.topic(settings.topics.enriched, value_serializer="raw", key_serializer="raw")


if STAGE == "enrich":

    @app.agent(raw_topic)
    async def pass_raw(stream: Any) -> None:
        """Raw -> enriched, serialisation only."""
        async for event in stream.events():
            raw = RawArticle.model_validate_json(event.message.value)
            enriched = EnrichedArticle(**raw.model_dump())
            await enriched_topic.send(
                key=raw.id.encode(),
                value=enriched.model_dump_json().encode(),
                headers={"content-type": b"application/json"},
            )
            PASSED.labels(STAGE).inc()

else:

    @app.agent(enriched_topic)
    async def pass_enriched(stream: Any) -> None:
        """Batches like the index service, decodes, counts; writes nothing."""
        async for events in stream.take_events(
            settings.index_batch_size, within=settings.index_batch_seconds
        ):
            for event in events:
                EnrichedArticle.model_validate_json(event.message.value)
            PASSED.labels(STAGE).inc(len(events))


if __name__ == "__main__":
    run_worker(app, state, f"passthrough-{STAGE}", settings)
