"""Dead letters: read ``articles.dlq`` back, and replay what failed once its cause is fixed.

Every stage dead-letters what it cannot process with the exact original bytes (see
:class:`shared.models.DeadLetter`). Listing reads the topic from the beginning with a plain
consumer that belongs to no group, so looking never moves anybody's offsets. Replaying
re-publishes the original bytes (with the original key and headers, plus a
``khabar-replayed-from`` header naming the dead letter) to the topic the failing stage consumes —
enrich → ``articles.raw``, index → ``articles.enriched`` — so the article takes the normal path
again. Its CloudEvents attributes are the original record's (restored, for a record written
before they existed), so the replay is the same event to a consumer. Replaying twice is
harmless: the index writes with ``_id`` = article id.

Reading stops at the end offsets the topic had when the read began (the high watermark of each
partition): a letter written later waits for the next listing, and a read that cannot reach
those offsets in time is an error, never a short list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from shared.errors import BrokerError, KhabarError
from shared.events import ENRICHED_ARTICLE, RAW_ARTICLE, dead_letter_id, restore_headers
from shared.kafka import client_options, make_producer, topic_partitions
from shared.models import DeadLetter
from shared.settings import KhabarSettings


class ReplayError(KhabarError):
    """A dead letter cannot be replayed (unknown stage, or nothing to replay)."""


@dataclass(frozen=True, slots=True)
class StoredLetter:
    """One record of the dead-letter topic: where it sits, and the letter (if it decodes)."""

    partition: int
    offset: int
    letter: DeadLetter | None
    problem: str | None = None

    @property
    def position(self) -> str:
        """``partition:offset`` in the dead-letter topic, as ``--offset`` accepts it."""
        return f"{self.partition}:{self.offset}"

    @property
    def article_id(self) -> str | None:
        """The failed article's id, when the stage knew it (else the message key)."""
        if self.letter is None:
            return None
        return self.letter.article_id or self.letter.key


def replay_topic(settings: KhabarSettings, stage: str) -> str:
    """The topic a stage consumes, i.e. where its dead letters are replayed."""
    if stage == "enrich":
        return settings.topics.raw
    if stage == "index":
        return settings.topics.enriched
    raise ReplayError(f"stage {stage!r} does not read from Kafka; its failures cannot be replayed")


async def read_topic(
    settings: KhabarSettings, topic: str, *, timeout: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a topic up to its current end offsets, without joining a group."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None, enable_auto_commit=False)
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await admin.start()
        partitions = await topic_partitions(admin, topic)
        if not partitions:
            return records
        await consumer.start()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        deadline = asyncio.get_running_loop().time() + timeout
        while pending:
            if asyncio.get_running_loop().time() > deadline:
                raise BrokerError(f"could not read {topic} to its end within {timeout:.0f} s")
            batch = await consumer.getmany(*pending, timeout_ms=500)
            for tp, part in batch.items():
                records.extend(record for record in part if record.offset < ends[tp])
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    except KafkaError as exc:
        raise BrokerError(f"could not read {topic}: {exc}") from exc
    finally:
        await consumer.stop()
        await admin.close()
    records.sort(key=lambda record: (record.partition, record.offset))
    return records


def decode_letter(record: ConsumerRecord[bytes, bytes]) -> StoredLetter:
    """A dead-letter record as a :class:`StoredLetter`; an undecodable one says why."""
    try:
        letter = DeadLetter.model_validate_json(record.value or b"")
    except ValidationError as exc:
        return StoredLetter(record.partition, record.offset, None, f"not a dead letter: {exc}")
    return StoredLetter(record.partition, record.offset, letter)


async def list_dead_letters(
    settings: KhabarSettings, *, stage: str | None = None, limit: int | None = None
) -> list[StoredLetter]:
    """Dead letters in topic order, optionally only one stage's, the newest ``limit`` of them."""
    records = await read_topic(settings, settings.topics.dlq)
    letters = [decode_letter(record) for record in records]
    if stage is not None:
        letters = [s for s in letters if s.letter is not None and s.letter.stage == stage]
    letters.sort(key=lambda s: (s.letter.failed_at.timestamp() if s.letter else 0.0, s.position))
    return letters[-limit:] if limit else letters


def select(
    letters: Iterable[StoredLetter],
    *,
    ids: Sequence[str] = (),
    positions: Sequence[str] = (),
    everything: bool = False,
) -> list[StoredLetter]:
    """The letters a replay asked for: by article id, by ``partition:offset``, or all."""
    wanted_ids, wanted_positions = set(ids), set(positions)
    chosen = [
        stored
        for stored in letters
        if everything or stored.article_id in wanted_ids or stored.position in wanted_positions
    ]
    if not everything:
        found = {s.article_id for s in chosen} | {s.position for s in chosen}
        unknown = (wanted_ids | wanted_positions) - found
        if unknown:
            raise ReplayError(f"no dead letter for: {', '.join(sorted(unknown))}")
    return chosen


def replay_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The failed record's own headers (its CloudEvents attributes and ``traceparent`` kept as
    they were, so the replay continues the article's trace as the same event); a record
    written before the envelope existed gets the attributes of its topic's kind."""
    kind = ENRICHED_ARTICLE if letter.stage == "index" else RAW_ARTICLE
    original = {
        key: value for key, value in letter.headers.items() if key != "khabar-replayed-from"
    }
    event_id = letter.article_id or letter.key or dead_letter_id(letter)
    return restore_headers(original, kind, event_id=event_id)


async def replay(settings: KhabarSettings, letters: Sequence[StoredLetter]) -> list[str]:
    """Re-publish each letter's original bytes to its stage's input topic; returns where to."""
    plan: list[tuple[StoredLetter, DeadLetter, str]] = []
    for stored in letters:
        if stored.letter is None:
            raise ReplayError(f"{stored.position} is not a dead letter: {stored.problem}")
        plan.append((stored, stored.letter, replay_topic(settings, stored.letter.stage)))
    producer = make_producer(settings)
    destinations: list[str] = []
    try:
        await producer.start()
        for stored, letter, topic in plan:
            headers = replay_headers(letter)
            headers.append(("khabar-replayed-from", f"dlq:{stored.position}".encode()))
            key = (letter.key or letter.article_id or "").encode() or None
            await producer.send_and_wait(topic, letter.original(), key=key, headers=headers)
            destinations.append(topic)
    except KafkaError as exc:
        raise BrokerError(f"replay failed after {len(destinations)} letters: {exc}") from exc
    finally:
        await producer.stop()
    return destinations
