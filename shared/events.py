"""CloudEvents on every Khabar record: the envelope other teams can read without our code.

The payload of each topic is a pydantic model of :mod:`shared.models`; this module says what
travels *around* it, in the Kafka protocol binding's binary content mode (CloudEvents 1.0):
``ce_specversion``, ``ce_id``, ``ce_source``, ``ce_type`` and ``ce_time`` headers, and
``content-type: application/json`` for the body, beside the ``traceparent`` the OpenTelemetry
Kafka instrumentation adds. A consumer written only against the CloudEvents specification (any
SDK's Kafka binding) can then route on ``ce_type`` and deduplicate on ``ce_source`` + ``ce_id``.

The mapping is the CloudEvents SDK's (``cloudevents.core.bindings.kafka``), not a hand-written
twin: headers come from its ``to_binary`` and are read back by its ``from_binary``. The body
stays the model's own JSON bytes (the SDK passes bytes through), so adding the envelope never
re-serialises an article.

Identity and time are chosen so a redelivered or replayed record is recognisably the same
event: ``ce_id`` is the article id on article topics and a hash of where the failed message sat
for dead letters; ``ce_time`` is when the event happened (ingested, enriched, failed).

Evolution: ``ce_type`` ends in the payload's ``schema_version`` (``….v1``). Additive changes
stay within a version; a breaking change is a new type (``….v2``), and consumers accept both
until every producer has moved. Records written before this envelope existed carry no ``ce_``
headers; :func:`read_attributes` answers ``None`` for them and consumers decode them by topic.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from cloudevents.core.bindings.kafka import KafkaMessage, from_binary, to_binary
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import AwareDatetime, Field, ValidationError

from shared.errors import KhabarError
from shared.models import (
    DeadLetter,
    EnrichedArticle,
    KhabarModel,
    RawArticle,
    Stage,
    utc_now,
)

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/json"
#: Prefix of the binary mode's attribute headers.
HEADER_PREFIX: Final = "ce_"
#: W3C trace context, as the OpenTelemetry Kafka instrumentation writes it.
TRACEPARENT_PATTERN: Final = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"

#: The AsyncAPI document of the topics (``make contract`` writes it; the gateway serves it).
ASYNCAPI_PATH: Final = Path(__file__).with_name("data") / "asyncapi.json"

_FORMAT = JSONFormat()
_REQUIRED: Final = ("ce_specversion", "ce_id", "ce_source", "ce_type")


class EventHeaderError(KhabarError, ValueError):
    """A record's ``ce_`` headers are present but not a valid CloudEvent (a ValueError, so a
    consumer's decode-or-dead-letter path treats it like an undecodable body)."""


@dataclass(frozen=True, slots=True)
class EventKind:
    """One kind of event: its ``ce_type``, the ``ce_source`` that writes it, and its body."""

    type: str
    source: str
    payload: builtins.type[KhabarModel]  # ``type`` is the field above, in this scope
    description: str


RAW_ARTICLE: Final = EventKind(
    "org.khabar.article.raw.v1",
    "/khabar/ingest",
    RawArticle,
    "An article as read by ingest (the ingest service, the gateway's POST /articles or the "
    "khabar CLI): text only, not yet cleaned.",
)
ENRICHED_ARTICLE: Final = EventKind(
    "org.khabar.article.enriched.v1",
    "/khabar/enrich",
    EnrichedArticle,
    "An article after enrichment: cleaned text, language, entities and vector.",
)
DEAD_LETTER: Final = EventKind(
    "org.khabar.deadletter.v1",
    "/khabar/{stage}",
    DeadLetter,
    "A message a stage could not process, with its original bytes and the error; ce_source "
    "names the stage that gave up (/khabar/enrich or /khabar/index).",
)
#: Every kind Khabar writes, by ``ce_type``.
KINDS: Final[Mapping[str, EventKind]] = {
    kind.type: kind for kind in (RAW_ARTICLE, ENRICHED_ARTICLE, DEAD_LETTER)
}


def dead_letter_source(stage: Stage) -> str:
    """The ``ce_source`` of a dead letter: the stage that could not process the message."""
    return f"/khabar/{stage}"


class EventAttributes(KhabarModel):
    """A record's CloudEvents attributes, as a consumer reads them from its headers."""

    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: AwareDatetime | None = None
    datacontenttype: str | None = None
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT_PATTERN)


def headers_for(
    kind: EventKind,
    *,
    event_id: str,
    time: datetime | None = None,
    source: str | None = None,
) -> dict[str, bytes]:
    """The binary-mode headers of one event (``traceparent`` is added when it is sent).

    ``time`` defaults to now: the moment the event happens is the moment it is sent.
    """
    source = source or kind.source
    if "{" in source:
        raise ValueError(f"{kind.type} is sourced per stage: pass source=dead_letter_source(…)")
    event = CloudEvent(
        {
            "specversion": SPECVERSION,
            "id": event_id,
            "source": source,
            "type": kind.type,
            "time": time or utc_now(),
            "datacontenttype": CONTENT_TYPE,
        }
    )
    return to_binary(event, _FORMAT).headers


def article_headers(article: RawArticle | EnrichedArticle) -> dict[str, bytes]:
    """Headers of an article record: ``ce_id`` is the article id, ``ce_time`` its stage's time."""
    if isinstance(article, EnrichedArticle):
        return headers_for(ENRICHED_ARTICLE, event_id=article.id, time=article.enriched_at)
    return headers_for(RAW_ARTICLE, event_id=article.id, time=article.ingested_at)


def dead_letter_id(letter: DeadLetter) -> str:
    """A dead letter's stable ``ce_id``: the same failed message gives the same id when it is
    dead-lettered again after a redelivery, so a consumer can deduplicate."""
    if letter.topic is not None and letter.partition is not None and letter.offset is not None:
        basis = f"at\x00{letter.stage}\x00{letter.topic}\x00{letter.partition}\x00{letter.offset}"
    else:
        basis = f"bytes\x00{letter.stage}\x00{letter.error_type}\x00{letter.original_b64}"
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def dead_letter_headers(letter: DeadLetter) -> dict[str, bytes]:
    """Headers of a dead-letter record, sourced from the stage that gave up."""
    return headers_for(
        DEAD_LETTER,
        event_id=dead_letter_id(letter),
        time=letter.failed_at,
        source=dead_letter_source(letter.stage),
    )


HeadersLike = Mapping[str, bytes | str] | Iterable[tuple[str, bytes | str | None]]


def _as_bytes(headers: HeadersLike | None) -> dict[str, bytes]:
    """Headers in any shape a client hands them over (aiokafka's list of pairs, faust's
    mapping, a dead letter's decoded text), as the binding's ``{name: bytes}``; first wins."""
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, bytes] = {}
    for name, value in items:
        if value is not None and name not in found:
            found[name] = value.encode() if isinstance(value, str) else bytes(value)
    return found


def has_attributes(headers: HeadersLike | None) -> bool:
    """Whether a record carries CloudEvents attributes (records written before they existed
    do not)."""
    return any(name.lower().startswith(HEADER_PREFIX) for name in _as_bytes(headers))


def read_attributes(headers: HeadersLike | None) -> EventAttributes | None:
    """A record's CloudEvents attributes; ``None`` for a record that predates them.

    Raises :class:`EventHeaderError` when ``ce_`` headers are there but do not make a valid
    CloudEvent (a required attribute missing, a time that is not RFC 3339, …).
    """
    found = _as_bytes(headers)
    if not has_attributes(found):
        return None
    # The SDK's event fills a missing id or time in (a fresh UUID, now): right for a producer,
    # wrong for a reader, to whom a record without an id is broken and one without a time has
    # none.
    missing = [name for name in _REQUIRED if name not in {key.lower() for key in found}]
    if missing:
        raise EventHeaderError(f"the record's CloudEvents headers lack {', '.join(missing)}")
    try:
        event = from_binary(KafkaMessage(headers=found, key=None, value=b""), _FORMAT, CloudEvent)
        attributes = event.get_attributes()
        if "ce_time" not in {key.lower() for key in found}:
            attributes.pop("time", None)
        traceparent = found.get("traceparent")
        attributes["traceparent"] = traceparent.decode() if traceparent else None
        return EventAttributes.model_validate(attributes)
    except UnicodeDecodeError as exc:
        raise EventHeaderError(f"a CloudEvents header is not UTF-8 text: {exc}") from exc
    except (BaseCloudEventException, ValidationError) as exc:
        raise EventHeaderError(f"the record's CloudEvents headers are not valid: {exc}") from exc
    except ValueError as exc:  # the SDK's RFC 3339 parser is the only other thing that raises
        raise EventHeaderError(f"ce_time is not an RFC 3339 time: {exc}") from exc


def restore_headers(
    headers: Mapping[str, str], kind: EventKind, *, event_id: str, time: datetime | None = None
) -> list[tuple[str, bytes]]:
    """A record's original headers, with the CloudEvents attributes added when it had none.

    Used when a dead letter is replayed: a record written with the envelope keeps its own
    attributes (and ``traceparent``) unchanged; one written before the envelope existed gets
    the attributes its topic's records carry now.
    """
    restored = [(name, value.encode()) for name, value in headers.items()]
    if not has_attributes(headers):
        present = {name.lower() for name in headers}
        restored.extend(
            (name, value)
            for name, value in headers_for(kind, event_id=event_id, time=time).items()
            if name not in present
        )
    return restored
