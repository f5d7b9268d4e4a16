"""The CloudEvents envelope, on what every producer writes and on every record ever written.

The envelope is checked through the CloudEvents SDK's own Kafka binding (what a consumer of
another team uses), the producers through fakes that capture the headers they send, and the
fixtures in ``tests/fixtures/events/`` (one per shape ever written) through every decoding path
a Khabar consumer takes: enrich's, index's, ``khabar dlq``'s and :func:`read_attributes`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from faust.types.tuples import ConsumerMessage
from opentelemetry import propagate, trace

from services.dlq import decode_letter, replay_headers
from services.enrich import app as enrich_app
from services.enrich.app import EnrichWorker
from shared import publisher as publisher_module
from shared import streaming
from shared.elastic import article_document
from shared.events import (
    DEAD_LETTER,
    ENRICHED_ARTICLE,
    KINDS,
    RAW_ARTICLE,
    EventHeaderError,
    article_headers,
    dead_letter_headers,
    dead_letter_id,
    headers_for,
    read_attributes,
    restore_headers,
)
from shared.ids import article_id
from shared.kafka import decode_headers, encode_event, event_headers
from shared.models import DeadLetter, EnrichedArticle, RawArticle
from shared.publisher import Publisher
from shared.settings import EnrichSettings, IngestSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "events"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ENVELOPE = ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"]


def _raw(body: str = "Flood waters rose in the valley overnight.") -> RawArticle:
    return RawArticle(
        id=article_id(url=None, title=None, body=body),
        body=body,
        ingested_at=datetime(2026, 12, 3, 7, 0, 1, 250_000, tzinfo=UTC),
    )


# --------------------------------------------------------------------------- the envelope


def test_article_headers_are_the_kafka_binary_binding_a_plain_sdk_reads() -> None:
    """Exactly the binding's header names; the SDK's own ``from_binary`` reads them back."""
    article = _raw()
    headers = event_headers(article=article)
    assert [name for name, _ in headers] == ENVELOPE
    message = KafkaMessage(dict(headers), article.id.encode(), encode_event(article))
    event = from_binary(message, JSONFormat())
    assert event.get_specversion() == "1.0"
    assert event.get_id() == article.id
    assert event.get_source() == "/khabar/ingest"
    assert event.get_type() == "org.khabar.article.raw.v1"
    assert event.get_time() == article.ingested_at
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == json.loads(encode_event(article))
    assert dict(headers)["ce_time"] == b"2026-12-03T07:00:01.250000Z"  # RFC 3339, UTC


def test_enriched_headers_name_enrich_and_the_enrichment_time() -> None:
    raw = _raw()
    enriched = EnrichedArticle(
        **raw.model_dump(exclude={"schema_version", "language_hint"}),
        enriched_at=raw.ingested_at + timedelta(milliseconds=3),
    )
    attributes = read_attributes(article_headers(enriched))
    assert attributes is not None
    assert (attributes.type, attributes.source) == (ENRICHED_ARTICLE.type, "/khabar/enrich")
    assert attributes.id == raw.id and attributes.time == enriched.enriched_at


def test_read_attributes_takes_every_shape_clients_hand_headers_over_in() -> None:
    """aiokafka's list of byte pairs, faust's mapping and a dead letter's decoded text."""
    headers = headers_for(RAW_ARTICLE, event_id="a" * 32)
    as_pairs = [*headers.items(), ("traceparent", TRACEPARENT.encode())]
    as_text = {name: value.decode() for name, value in as_pairs}
    read = [read_attributes(shape) for shape in (as_pairs, dict(as_pairs), as_text)]
    assert read[0] is not None and read[0].traceparent == TRACEPARENT
    assert read[0] == read[1] == read[2]


def test_a_record_from_before_the_envelope_has_no_attributes() -> None:
    assert read_attributes([("content-type", b"application/json")]) is None
    assert read_attributes(None) is None
    assert read_attributes({}) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ce_id": None}, "id"),
        ({"ce_time": b"yesterday"}, "time"),
        ({"ce_specversion": b"0.2"}, "specversion"),
        ({"traceparent": b"not-a-trace"}, "traceparent"),
    ],
)
def test_broken_attributes_are_an_error_that_names_them(
    change: dict[str, bytes | None], reason: str
) -> None:
    headers: dict[str, bytes | None] = {
        **headers_for(RAW_ARTICLE, event_id="b" * 32),
        "traceparent": TRACEPARENT.encode(),
    }
    headers.update(change)
    with pytest.raises(EventHeaderError, match=reason):
        read_attributes(list(headers.items()))


def test_a_dead_letter_keeps_its_id_when_the_same_message_fails_again() -> None:
    """Redelivered after a crash, the same message is dead-lettered again: same ``ce_id``."""
    fields: dict[str, Any] = {"stage": "enrich", "error_type": "ValidationError"}
    at = {"topic": "articles.raw", "partition": 1, "offset": 9}
    first = DeadLetter.from_bytes(b"{", error="first", **fields, **at)
    again = DeadLetter.from_bytes(b"{", error="again", **fields, **at)
    later = DeadLetter.from_bytes(b"{", error="first", **fields, **{**at, "offset": 10})
    nowhere = DeadLetter.from_bytes(b"{", error="x", **fields)
    assert dead_letter_id(first) == dead_letter_id(again) != dead_letter_id(later)
    assert dead_letter_id(nowhere) == dead_letter_id(
        DeadLetter.from_bytes(b"{", error="y", **fields)
    )
    attributes = read_attributes(dead_letter_headers(first))
    assert attributes is not None
    assert (attributes.type, attributes.source) == (DEAD_LETTER.type, "/khabar/enrich")
    assert attributes.id == dead_letter_id(first) and attributes.time == first.failed_at


def test_restoring_keeps_an_envelope_and_adds_a_missing_one() -> None:
    original = {
        **{k: v.decode() for k, v in headers_for(RAW_ARTICLE, event_id="c" * 32).items()},
        "traceparent": TRACEPARENT,
    }
    assert restore_headers(original, RAW_ARTICLE, event_id="d" * 32) == [
        (name, value.encode()) for name, value in original.items()
    ]
    legacy = {"content-type": "application/json", "traceparent": TRACEPARENT}
    restored = restore_headers(legacy, RAW_ARTICLE, event_id="d" * 32)
    assert [name for name, _ in restored].count("content-type") == 1
    attributes = read_attributes(restored)
    assert attributes is not None and attributes.id == "d" * 32
    assert attributes.traceparent == TRACEPARENT


# --------------------------------------------------------------------------- the producers


class _CapturingProducer:
    """Stands in for aiokafka's producer: keeps what the publisher sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, topic: str, value: bytes, **options: Any) -> asyncio.Future[object]:
        self.sent.append({"topic": topic, "value": value, **options})
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def test_the_publisher_writes_each_raw_article_in_its_envelope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _CapturingProducer()
    monkeypatch.setattr(publisher_module, "make_producer", lambda settings: fake)
    publisher = Publisher(IngestSettings(trace_store="none"))
    await publisher.start()
    articles = [_raw("first article body"), _raw("second article body")]
    assert await publisher.publish_many(articles) == 2
    for article, sent in zip(articles, fake.sent, strict=True):
        assert isinstance(sent["headers"], list)  # the instrumentation appends traceparent
        attributes = read_attributes(sent["headers"])
        assert attributes is not None
        assert (attributes.id, attributes.type) == (article.id, RAW_ARTICLE.type)
        assert sent["key"] == article.id.encode()


@dataclass
class _Event:
    message: ConsumerMessage


def _consumed(topic: str, value: bytes, key: bytes | None = b"k") -> _Event:
    headers = [("content-type", b"application/json"), ("traceparent", TRACEPARENT.encode())]
    return _Event(ConsumerMessage(topic, 3, 77, 0.0, 0, headers, key, value, None))


class _Enricher:
    """Enrichment reduced to the contract: the article as an enriched one."""

    def enrich(self, raw: RawArticle) -> EnrichedArticle:
        return EnrichedArticle(**raw.model_dump(exclude={"schema_version", "language_hint"}))


async def test_enrich_sends_enriched_articles_and_dead_letters_in_their_envelopes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, bytes | None, dict[str, bytes]]] = []

    async def send(
        topic: Any, *, key: bytes | None, value: bytes, headers: dict[str, bytes]
    ) -> Awaitable[None]:
        sent.append((topic.get_topic_name(), key, headers))

        async def ack() -> None:
            pass

        return ack()

    async def deliver(
        topic: Any, *, key: bytes | None, value: bytes, headers: dict[str, bytes]
    ) -> None:
        await (await send(topic, key=key, value=value, headers=headers))

    monkeypatch.setattr(enrich_app, "send", send)
    monkeypatch.setattr(streaming, "deliver", deliver)
    settings = EnrichSettings(data_dir=tmp_path, trace_store="none")
    worker = EnrichWorker(settings, enricher=_Enricher())
    article = _raw()
    await worker.process_batch(
        [
            _consumed(settings.topics.raw, encode_event(article)),
            _consumed(settings.topics.raw, b"{"),
        ]
    )
    (enriched_topic, key, enriched), (dlq_topic, _, letter) = sent
    assert (enriched_topic, dlq_topic) == (settings.topics.enriched, settings.topics.dlq)
    attributes = read_attributes(enriched)
    assert attributes is not None and key == article.id.encode()
    assert (attributes.id, attributes.type, attributes.source) == (
        article.id,
        ENRICHED_ARTICLE.type,
        "/khabar/enrich",
    )
    dead = read_attributes(letter)
    assert dead is not None and letter["khabar-stage"] == b"enrich"
    assert (dead.type, dead.source) == (DEAD_LETTER.type, "/khabar/enrich")


# --------------------------------------------------------------------------- every shape ever written


def _fixture(path: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    record["bytes"] = json.dumps(record["value"], ensure_ascii=False).encode()
    return record


TOPIC_OF = {
    RAW_ARTICLE.type: "articles.raw",
    ENRICHED_ARTICLE.type: "articles.enriched",
    DEAD_LETTER.type: "articles.dlq",
}


def _expected_kind(topic: str) -> str:
    return next(kind for kind, written_to in TOPIC_OF.items() if written_to == topic)


def test_every_model_shape_written_now_has_a_fixture() -> None:
    """A field added to a payload without a fixture of the new shape fails here."""
    records = [_fixture(path) for path in FIXTURE_FILES]
    for kind in KINDS.values():
        topic = TOPIC_OF[kind.type]
        shapes = [set(r["value"]) for r in records if r["topic"] == topic]
        enveloped = [r for r in records if r["topic"] == topic and "ce_type" in r["headers"]]
        assert set(kind.payload.model_fields) in shapes, f"add a fixture of today's {kind.type}"
        assert enveloped and all(r["headers"]["ce_type"] == kind.type for r in enveloped)
        assert any("ce_type" not in r["headers"] for r in records if r["topic"] == topic), (
            f"keep the fixture of {topic} from before the envelope"
        )


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[path.stem for path in FIXTURE_FILES])
def test_every_record_ever_written_decodes_on_every_consumer_path(path: Path) -> None:
    record = _fixture(path)
    attributes = read_attributes(record["headers"])
    if "ce_type" in record["headers"]:
        assert attributes is not None and attributes.type == _expected_kind(record["topic"])
        assert attributes.traceparent is not None and attributes.time is not None
    else:
        assert attributes is None  # written before the envelope: decoded by topic
    if record["topic"] == "articles.raw":
        raw = RawArticle.model_validate_json(record["bytes"])  # as enrich decodes
        assert raw.id == record["key"] and (attributes is None or attributes.id == raw.id)
    elif record["topic"] == "articles.enriched":
        _decode_as_index_does(record, attributes)
    else:
        _decode_as_khabar_dlq_does(record, attributes)


def _decode_as_index_does(record: dict[str, Any], attributes: Any) -> None:
    article = EnrichedArticle.model_validate_json(record["bytes"])
    assert article.id == record["key"] and (attributes is None or attributes.id == article.id)
    document = article_document(article)
    assert document["id"] == article.id and document["search_body"]
    context = propagate.extract(decode_headers(list(_encoded(record["headers"]))))
    assert trace.get_current_span(context).get_span_context().is_valid  # the bulk write's link


def _decode_as_khabar_dlq_does(record: dict[str, Any], attributes: Any) -> None:
    stored = decode_letter(
        ConsumerRecord(
            record["topic"],
            0,
            11,
            0,
            0,
            record["key"].encode() if record["key"] else None,
            record["bytes"],
            None,
            0,
            len(record["bytes"]),
            tuple(_encoded(record["headers"])),
        )
    )
    letter = stored.letter
    assert letter is not None, stored.problem
    if attributes is not None:
        assert attributes.id == dead_letter_id(letter)
        assert attributes.source == f"/khabar/{letter.stage}"
    replayed = read_attributes(replay_headers(letter))  # what `khabar dlq replay` sends
    assert replayed is not None
    kind = ENRICHED_ARTICLE if letter.stage == "index" else RAW_ARTICLE
    assert replayed.type == kind.type
    if letter.stage == "index":
        original = EnrichedArticle.model_validate_json(letter.original())
        assert replayed.id == original.id == letter.article_id
        assert replayed == read_attributes(letter.headers)  # the original envelope, unchanged


def _encoded(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in headers.items()]
