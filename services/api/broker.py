"""What the broker knows about the chain: dead letters waiting and consumer-group lag.

``/stats`` is polled by dashboards, so the figures are cached for a few seconds and read with
one long-lived consumer (for topic offsets) and one admin client (for committed group
offsets), started on first use — never a client per request. Dead letters are counted as end
minus beginning offsets of ``articles.dlq``; lag per group is end minus committed offset over
its input topic (the high watermark minus the group's committed offset, exact; a partition the
group never committed counts from its first offset). A broker that does not answer yields the
error text instead of numbers: stats must never fail because Kafka is down.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka import client_options, topic_partitions
from shared.models import PipelineStats
from shared.settings import ApiSettings

log = logging.getLogger(__name__)

#: How long one reading of the broker is reused.
CACHE_SECONDS = 5.0
#: A broker slower than this is reported as unavailable.
TIMEOUT_SECONDS = 5.0


def consumer_groups(settings: ApiSettings) -> dict[str, str]:
    """Consumer group → the topic it consumes, for the stages after ingest."""
    from shared.streaming import app_id  # faust is heavy: imported only when stats are read

    return {
        app_id("enrich", settings): settings.topics.raw,
        app_id("index", settings): settings.topics.enriched,
    }


class BrokerStats:
    """Cached dead-letter count and lag, read with long-lived clients."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._lock = asyncio.Lock()
        self._cached: tuple[float, PipelineStats] | None = None

    async def _clients(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False)
            await consumer.start()
            self._consumer = consumer
        if self._admin is None:
            admin = AIOKafkaAdminClient(**client_options(self.settings))
            await admin.start()
            self._admin = admin
        return self._consumer, self._admin

    async def _read(self) -> PipelineStats:
        consumer, admin = await self._clients()
        dlq = await topic_partitions(admin, self.settings.topics.dlq)
        start = await consumer.beginning_offsets(dlq) if dlq else {}
        end = await consumer.end_offsets(dlq) if dlq else {}
        dead = sum(max(0, end[tp] - start[tp]) for tp in dlq)
        lag: dict[str, int] = {}
        for group, topic in consumer_groups(self.settings).items():
            partitions = await topic_partitions(admin, topic)
            if not partitions:
                continue
            ends = await consumer.end_offsets(partitions)
            firsts = await consumer.beginning_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            total = 0
            for tp in partitions:
                meta = committed.get(tp)
                position = meta.offset if meta is not None and meta.offset >= 0 else firsts[tp]
                total += max(0, ends[tp] - position)
            lag[group] = total
        return PipelineStats(dead_letters=dead, lag=lag)

    async def snapshot(self) -> PipelineStats:
        """Dead letters and lag, at most :data:`CACHE_SECONDS` old."""
        async with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < CACHE_SECONDS:
                return self._cached[1]
            try:
                stats = await asyncio.wait_for(self._read(), TIMEOUT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - any broker failure becomes a reported error
                log.warning("broker statistics unavailable", extra={"error": repr(exc)})
                await self.close()
                stats = PipelineStats(error=f"broker unavailable: {type(exc).__name__}")
            self._cached = (now, stats)
            return stats

    async def close(self) -> None:
        """Stop the clients (they are started again on the next read)."""
        consumer, admin = self._consumer, self._admin
        self._consumer = self._admin = None
        if consumer is not None:
            await consumer.stop()
        if admin is not None:
            await admin.close()
