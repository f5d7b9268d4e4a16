"""Write ``shared/data/asyncapi.json``: the AsyncAPI 3.0 contract of Khabar's Kafka topics.

The document is generated, never hand-edited, so it cannot drift from the code: payload schemas
come from the pydantic models of :mod:`shared.models` (pydantic's ``models_json_schema``, with
the shared ``$defs`` placed under ``components/schemas`` and every ``$ref`` pointing there),
header schemas and event types from :mod:`shared.events`, topic names from
:class:`shared.topics.Topics`. Run after changing a model or the envelope::

    make contract                                   # or: .venv/bin/python tools/build_contract.py
    .venv/bin/python tools/build_contract.py --prefix staging. --out /tmp/asyncapi.json

``tests/unit/shared/test_contract.py`` fails when the committed file differs from what this
writes now, and validates it with the AsyncAPI parser (``tools/asyncapi/validate.mjs``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic.json_schema import models_json_schema  # noqa: E402

from shared.events import (  # noqa: E402
    ASYNCAPI_PATH,
    CONTENT_TYPE,
    DEAD_LETTER,
    ENRICHED_ARTICLE,
    RAW_ARTICLE,
    SPECVERSION,
    TRACEPARENT_PATTERN,
    EventKind,
    article_headers,
    dead_letter_headers,
    dead_letter_source,
)
from shared.ids import article_id  # noqa: E402
from shared.models import (  # noqa: E402
    SCHEMA_VERSION,
    DeadLetter,
    EnrichedArticle,
    Entity,
    Mention,
    RawArticle,
    Stage,
)
from shared.topics import Topics  # noqa: E402

OUT = ASYNCAPI_PATH
KAFKA_BINDING = "0.5.0"
ID_PATTERN = r"^[0-9a-f]{32}$"
STAGES: tuple[str, ...] = get_args(Stage)

DESCRIPTION = f"""\
The Kafka topics of Khabar, an enrichment chain for Urdu, Hindi and English news:
ingest → `articles.raw` → enrich → `articles.enriched` → index, and `articles.dlq` for what a
stage could not process.

Every record's key is the article id (32 hex characters, a hash of the canonical URL or of the
text), so an article always lands on the same partition; delivery is at least once, and a
consumer deduplicates on the id. The body is UTF-8 JSON. Every record carries CloudEvents
{SPECVERSION} attributes in the Kafka protocol binding's binary content mode (`ce_specversion`,
`ce_id`, `ce_source`, `ce_type`, `ce_time` and `content-type` headers) and the W3C
`traceparent` of the article's trace.

Evolution: changes within a `schema_version` are additive only (new optional fields; consumers
ignore fields they do not know). A breaking change is a new `schema_version` and a new
`ce_type` (`….v{SCHEMA_VERSION + 1}`); during a migration producers may write both and consumers
must accept both. Records written before the CloudEvents headers existed carry only
`content-type` and `traceparent`; decode them by topic.
"""


def payload_schemas() -> dict[str, Any]:
    """The three payloads' JSON Schemas and everything they reference, by model name."""
    _, top = models_json_schema(
        [(RawArticle, "validation"), (EnrichedArticle, "validation"), (DeadLetter, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    return dict(sorted(top["$defs"].items()))


def _text(description: str, **schema: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **schema}


def headers_schema(kind: EventKind, id_description: str, time_description: str) -> dict[str, Any]:
    """The record headers of one kind: the CloudEvents attributes and the trace context."""
    if kind is DEAD_LETTER:
        source: dict[str, Any] = {"enum": [dead_letter_source(stage) for stage in STAGES]}
    else:
        source = {"const": kind.source}
    properties: dict[str, Any] = {
        "ce_specversion": _text("CloudEvents specification version.", const=SPECVERSION),
        "ce_id": _text(id_description, pattern=ID_PATTERN),
        "ce_source": _text("The Khabar stage that wrote the event.", **source),
        "ce_type": _text(
            "The event type; its last part is the payload's schema_version.", const=kind.type
        ),
        "ce_time": _text(time_description, format="date-time"),
        "content-type": _text("The body's media type.", const=CONTENT_TYPE),
        "traceparent": _text(
            "W3C trace context: the article's trace, continued by every stage.",
            pattern=TRACEPARENT_PATTERN,
        ),
    }
    if kind is DEAD_LETTER:
        properties["khabar-stage"] = _text("The stage that gave up.", enum=list(STAGES))
    else:
        properties["khabar-replayed-from"] = _text(
            "Present on a record replayed from the dead-letter topic: the dead letter's "
            "dlq:partition:offset.",
            pattern=r"^dlq:[0-9]+:[0-9]+$",
        )
    return {
        "type": "object",
        "description": "Kafka record headers (values are UTF-8 text). CloudEvents attributes in "
        "the binary content mode; other headers may be added and must be ignored.",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
        "properties": properties,
    }


def _examples() -> dict[str, tuple[dict[str, str], dict[str, Any]]]:
    """One record of each kind (headers, payload), from the models, so examples cannot drift."""
    at = datetime(2026, 3, 5, 9, 30, tzinfo=UTC)
    url = "https://news.example.org/2026/03/05/river-flood-warning"
    ident = article_id(url=url, title=None, body="")
    raw = RawArticle(
        id=ident,
        url=url,
        source="example-news",
        title="Flood warning issued for the river valley",
        body="Officials in Lahore issued a flood warning on Thursday as the river rose.",
        published_at=at,
        ingested_at=at,
    )
    mention = Mention(field="body", start=13, end=19, text="Lahore")
    enriched = EnrichedArticle(
        **raw.model_dump(exclude={"schema_version", "language_hint"}),
        language="en",
        language_confidence=0.99,
        script="Latn",
        entities=[
            Entity(id="geo:lahore", type="LOC", name="Lahore", mentions=[mention], linked=True)
        ],
        enriched_at=at,
    )
    letter = DeadLetter.from_bytes(
        b"{not json",
        stage="enrich",
        error="Invalid JSON: expected property name at line 1 column 2",
        error_type="ValidationError",
        topic=Topics().raw,
        partition=0,
        offset=42,
        failed_at=at,
    )
    trace = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}

    def record(headers: dict[str, bytes], model: Any) -> tuple[dict[str, str], dict[str, Any]]:
        text = {name: value.decode() for name, value in headers.items()}
        return {**text, **trace}, model.model_dump(mode="json")

    return {
        "rawArticle": record(article_headers(raw), raw),
        "enrichedArticle": record(article_headers(enriched), enriched),
        "deadLetter": record({**dead_letter_headers(letter), "khabar-stage": b"enrich"}, letter),
    }


MESSAGES: dict[str, tuple[EventKind, str, str, str]] = {
    # message id: kind, schema name, ce_id description, ce_time description
    "rawArticle": (
        RAW_ARTICLE,
        "RawArticle",
        "The article id (the record key).",
        "When ingest read the article (the payload's ingested_at).",
    ),
    "enrichedArticle": (
        ENRICHED_ARTICLE,
        "EnrichedArticle",
        "The article id (the record key).",
        "When enrich sent the enriched article.",
    ),
    "deadLetter": (
        DEAD_LETTER,
        "DeadLetter",
        "Stable per failed message (a hash of stage, topic, partition and offset): the same "
        "message dead-lettered again after a redelivery has the same id.",
        "When the stage gave up (the payload's failed_at).",
    ),
}


def messages() -> dict[str, Any]:
    """components/messages: key, headers, payload and an example of each kind."""
    examples = _examples()
    built: dict[str, Any] = {}
    for name, (kind, schema, id_text, time_text) in MESSAGES.items():
        headers, payload = examples[name]
        key = {"type": "string", "pattern": ID_PATTERN, "description": "The article id."}
        if kind is DEAD_LETTER:
            key["description"] = "The failed record's key (the article id), when it had one."
        built[name] = {
            "name": schema,
            "title": kind.type,
            "summary": kind.description,
            "contentType": CONTENT_TYPE,
            "headers": headers_schema(kind, id_text, time_text),
            "payload": {"$ref": f"#/components/schemas/{schema}"},
            "correlationId": {
                "description": "The article's trace (W3C trace context).",
                "location": "$message.header#/traceparent",
            },
            "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING}},
            "examples": [{"name": f"{name}Example", "headers": headers, "payload": payload}],
        }
    return built


def channels(topics: Topics) -> dict[str, Any]:
    """One channel per topic, named by its address (the prefix included)."""
    described = {
        "articlesRaw": (topics.raw, "rawArticle", "Raw articles from ingest and the API."),
        "articlesEnriched": (
            topics.enriched,
            "enrichedArticle",
            "Enriched articles, ready to index.",
        ),
        "articlesDlq": (topics.dlq, "deadLetter", "Dead letters from every stage."),
    }
    return {
        channel: {
            "address": address,
            "description": description,
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
            "bindings": {"kafka": {"topic": address, "bindingVersion": KAFKA_BINDING}},
        }
        for channel, (address, message, description) in described.items()
    }


OPERATIONS: dict[str, tuple[str, str, str, str]] = {
    # operation id: action, channel, message, who does it
    "publishRawArticle": (
        "send",
        "articlesRaw",
        "rawArticle",
        "The ingest service, the gateway's POST /articles and `khabar ingest` publish raw "
        "articles.",
    ),
    "enrichRawArticle": ("receive", "articlesRaw", "rawArticle", "enrich consumes raw articles."),
    "publishEnrichedArticle": (
        "send",
        "articlesEnriched",
        "enrichedArticle",
        "enrich publishes each enriched article.",
    ),
    "indexEnrichedArticle": (
        "receive",
        "articlesEnriched",
        "enrichedArticle",
        "index writes enriched articles to Elasticsearch.",
    ),
    "deadLetterMessage": (
        "send",
        "articlesDlq",
        "deadLetter",
        "enrich and index dead-letter what they cannot process.",
    ),
    "readDeadLetters": (
        "receive",
        "articlesDlq",
        "deadLetter",
        "`khabar dlq list` reads dead letters (without a consumer group).",
    ),
    "replayRawArticle": (
        "send",
        "articlesRaw",
        "rawArticle",
        "`khabar dlq replay` re-publishes an enrich failure's original record.",
    ),
    "replayEnrichedArticle": (
        "send",
        "articlesEnriched",
        "enrichedArticle",
        "`khabar dlq replay` re-publishes an index failure's original record.",
    ),
}


def operations() -> dict[str, Any]:
    """Who sends and who receives each message."""
    return {
        name: {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
        }
        for name, (action, channel, message, summary) in OPERATIONS.items()
    }


def build_document(prefix: str = "") -> dict[str, Any]:
    """The whole AsyncAPI document for topics named with ``prefix``."""
    return {
        "asyncapi": "3.0.0",
        "id": "urn:org:khabar:events",
        "info": {
            "title": "Khabar events",
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels(Topics(prefix)),
        "operations": operations(),
        "components": {"schemas": payload_schemas(), "messages": messages()},
    }


def render(document: dict[str, Any]) -> str:
    """The document as the committed file's text."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="", help="topic prefix (default: none)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default: {OUT})")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(build_document(args.prefix)), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
