"""The enrich agent's delivery policy, with a fake broker: output or dead letter, never neither.

``EnrichWorker.process_batch`` is what the agent runs per batch. A fake
broker stands in for the producer (``send`` returns the ack to await; ``deliver`` sends and waits,
as dead letters do), so these tests see exactly what would be published, in which order, and can
make the broker refuse. ``hand_back`` is checked against faust's real message class, since the guarantee
rests on how faust decides an offset is committable.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import pytest
from faust.exceptions import ProducerSendError
from faust.types.tuples import ConsumerMessage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.enrich import app as enrich_app
from services.enrich.app import EnrichWorker
from shared import streaming
from shared.ids import article_id
from shared.kafka import encode_event
from shared.models import DeadLetter, EnrichedArticle, RawArticle
from shared.settings import EnrichSettings
from shared.streaming import hand_back


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> EnrichWorker:
    """An enrich worker built with scratch space and no span export."""
    return EnrichWorker(
        EnrichSettings(data_dir=tmp_path_factory.mktemp("enrich-data"), trace_store="none")
    )


@dataclass
class FakeBroker:
    """Records what the agent sends and when acks are awaited; refuses topics in ``refuse``."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    refuse_nth: dict[str, set[int]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    async def send(
        self, topic: Any, *, key: bytes | None, value: bytes, headers: dict[str, bytes]
    ) -> Awaitable[None]:
        name = topic.get_topic_name()
        nth = sum(1 for entry in self.log if entry == f"send {name}")
        self.log.append(f"send {name}")

        async def ack() -> None:
            self.log.append(f"ack {name}")
            if name in self.refuse or nth in self.refuse_nth.get(name, set()):
                raise ProducerSendError(f"refused by the fake broker: {name}")
            self.sent.append((name, value))

        return ack()

    async def deliver(
        self, topic: Any, *, key: bytes | None, value: bytes, headers: dict[str, bytes]
    ) -> None:
        await (await self.send(topic, key=key, value=value, headers=headers))


@dataclass
class FakeEvent:
    """The part of a faust event the agent reads."""

    message: ConsumerMessage


def _event(value: bytes, offset: int = 7) -> FakeEvent:
    message = ConsumerMessage(
        "articles.raw",
        2,
        offset,
        0.0,
        0,
        [("content-type", b"application/json")],
        b"k",
        value,
        None,
    )
    return FakeEvent(message)


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> FakeBroker:
    fake = FakeBroker()
    monkeypatch.setattr(enrich_app, "send", fake.send)
    monkeypatch.setattr(streaming, "deliver", fake.deliver)  # dead letters go through it
    return fake


def _raw() -> bytes:
    body = "لاہور، 3 مئی 2025: پاکستان اور چین نے تجارت بڑھانے پر اتفاق کیا۔"
    return encode_event(RawArticle(id=article_id(url=None, title=None, body=body), body=body))


async def test_a_good_article_is_published_enriched(
    agent: EnrichWorker, broker: FakeBroker
) -> None:
    await agent.process_batch([_event(_raw())])
    [(topic, value)] = broker.sent
    assert topic == agent.settings.topics.enriched
    assert EnrichedArticle.model_validate_json(value).language == "ur"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(junk=st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
async def test_junk_on_the_wire_becomes_a_dead_letter_with_the_original_bytes(
    agent: EnrichWorker, broker: FakeBroker, junk: bytes
) -> None:
    broker.sent.clear()
    await agent.process_batch([_event(junk, offset=41)])
    [(topic, value)] = broker.sent
    assert topic == agent.settings.topics.dlq
    letter = DeadLetter.model_validate_json(value)
    assert letter.original() == junk
    assert (letter.stage, letter.topic, letter.partition, letter.offset) == (
        "enrich",
        "articles.raw",
        2,
        41,
    )
    assert letter.error and letter.error_type


async def test_output_the_broker_refuses_is_dead_lettered(
    agent: EnrichWorker, broker: FakeBroker
) -> None:
    broker.refuse.add(agent.settings.topics.enriched)
    raw = _raw()
    await agent.process_batch([_event(raw)])
    [(topic, value)] = broker.sent
    assert topic == agent.settings.topics.dlq
    letter = DeadLetter.model_validate_json(value)
    assert letter.original() == raw and letter.error_type == "ProducerSendError"


class BrokenEnricher:
    def enrich(self, raw: RawArticle) -> EnrichedArticle:
        raise RuntimeError(f"enricher broke on {raw.id}")


async def test_an_article_the_enricher_fails_on_is_dead_lettered_and_the_batch_goes_on(
    agent: EnrichWorker, broker: FakeBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _raw()
    monkeypatch.setattr(agent, "_enricher", BrokenEnricher())
    await agent.process_batch([_event(raw, offset=5), _event(b"junk", offset=6)])
    letters = [DeadLetter.model_validate_json(value) for _, value in broker.sent]
    assert [(x.offset, x.error_type) for x in letters] == [
        (5, "RuntimeError"),
        (6, "ValidationError"),
    ]
    assert letters[0].original() == raw and "enricher broke on" in letters[0].error
    assert (letters[0].stage, letters[0].topic, letters[0].partition) == (
        "enrich",
        "articles.raw",
        2,
    )


async def test_a_batch_is_sent_before_its_acks_are_awaited_and_all_are_awaited(
    agent: EnrichWorker, broker: FakeBroker
) -> None:
    """The broker's round trip is paid once a batch; no output goes unacknowledged."""
    enriched = agent.settings.topics.enriched
    batch = [_event(_raw(), offset=n) for n in range(3)] + [_event(b"junk", offset=3)]
    await agent.process_batch(batch)
    dlq = agent.settings.topics.dlq
    # the junk is dead-lettered (sent and acked) in turn; the good outputs' acks come last
    assert (
        broker.log
        == [f"send {enriched}"] * 3 + [f"send {dlq}", f"ack {dlq}"] + [f"ack {enriched}"] * 3
    )
    assert [topic for topic, _ in broker.sent] == [dlq, enriched, enriched, enriched]


async def test_a_refused_output_in_a_batch_dead_letters_only_its_own_input(
    agent: EnrichWorker, broker: FakeBroker
) -> None:
    broker.refuse_nth[agent.settings.topics.enriched] = {1}  # the second article's output
    await agent.process_batch([_event(_raw(), offset=n) for n in range(3)])
    enriched = [v for t, v in broker.sent if t == agent.settings.topics.enriched]
    letters = [
        DeadLetter.model_validate_json(v)
        for t, v in broker.sent
        if t != agent.settings.topics.enriched
    ]
    assert len(enriched) == 2
    assert [(x.offset, x.error_type) for x in letters] == [(1, "ProducerSendError")]


async def test_when_even_the_dead_letter_is_refused_the_error_reaches_the_agent(
    agent: EnrichWorker, broker: FakeBroker
) -> None:
    broker.refuse.update({agent.settings.topics.enriched, agent.settings.topics.dlq})
    with pytest.raises(ProducerSendError):
        await agent.process_batch([_event(_raw())])


class RecordingConsumer:
    """Stands in for faust's consumer: records which messages were acked to it."""

    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, message: ConsumerMessage) -> bool:
        self.acked.append(message.offset)
        message.acked = True
        return True


def test_handed_back_events_never_reach_the_consumers_committable_offsets() -> None:
    consumer = RecordingConsumer()
    kept, handed = _event(b"a", offset=1), _event(b"b", offset=2)
    hand_back([handed])
    # What faust's generator ``finally`` does for every event of a batch, failed or not:
    assert kept.message.ack(consumer) is True  # type: ignore[arg-type]
    assert handed.message.ack(consumer) is False  # type: ignore[arg-type]
    assert consumer.acked == [1]
