"""Fuzz target: the bytes of a Kafka record through every event decoder a consumer runs.

enrich decodes ``articles.raw`` with ``RawArticle.model_validate_json``, index decodes
``articles.enriched`` with ``EnrichedArticle.model_validate_json``, ``khabar dlq`` decodes
``articles.dlq`` with ``DeadLetter.model_validate_json`` and replays ``letter.original()``;
any stage wraps what it cannot process with ``DeadLetter.from_bytes``. The consumers turn
pydantic's ``ValidationError`` (a ``ValueError``) and ``UnicodeError`` into dead letters, so
those are expected answers to junk. Anything else raised, or an event that does not survive
its own JSON (what a producer writes must decode again to the same event), is a crash.

Run: ``python tools/fuzz/fuzz_events.py -max_total_time=60`` (libFuzzer flags); ``make fuzz``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.fuzz.common import atheris, instrumented

with instrumented(__name__ == "__main__", include=["shared"]):
    from pydantic import ValidationError

    from shared.models import DeadLetter, EnrichedArticle, KhabarModel, RawArticle

TARGET = "events"
#: What a consumer dead-letters instead of crashing on (``ValidationError`` is a ValueError).
EXPECTED = (ValidationError, ValueError, UnicodeError)
DECODERS: tuple[type[KhabarModel], ...] = (RawArticle, EnrichedArticle, DeadLetter)


def check_event(data: bytes) -> None:
    """One record value through every decoder; raises only on a defect."""
    for model in DECODERS:
        try:
            event = model.model_validate_json(data)
        except EXPECTED:
            continue
        encoded = event.model_dump_json()
        again = model.model_validate_json(encoded)
        assert again.model_dump_json() == encoded, (model.__name__, encoded)
        if isinstance(event, DeadLetter):
            try:
                event.original()  # what `khabar dlq replay` sends back
            except EXPECTED:
                pass
    letter = DeadLetter.from_bytes(
        data, stage="enrich", error="fuzzed", error_type="Fuzz", topic="articles.raw"
    )
    assert letter.original() == data
    assert DeadLetter.model_validate_json(letter.model_dump_json()) == letter


#: Values a field is set to by :func:`mutate`: the edges of every JSON type, and text that is
#: hard on parsers (controls, bidi marks, a lone surrogate escape, date-like and id-like text).
PALETTE: tuple[object, ...] = (
    None,
    True,
    0,
    -1,
    2**63,
    -(2**64),
    1e308,
    -0.0,
    0.5,
    "",
    "0" * 32,
    "F" * 32,
    "und",
    "2025-03-05T08:00:00Z",
    "2025-03-05T08:00:00+23:59",
    "0001-01-01T00:00:00-01:00",
    "9999-12-31T23:59:59Z",
    "1e3",
    "NaN",
    "\ud800",
    "\u202e\x00\ufeff",
    "پاکستان",
    "====",
    "AA==",
    "!!",
    [],
    [None],
    [[]],
    {},
    {"a": 1},
    [0.1, "x"],
    ["title", 0, 3],
)
FIELDS = (
    "id",
    "url",
    "source",
    "title",
    "body",
    "published_at",
    "ingested_at",
    "schema_version",
    "language_hint",
    "language",
    "language_confidence",
    "script",
    "languages",
    "entities",
    "flags",
    "enriched_at",
    "trace_id",
    "timings_ms",
    "vector",
    "story_id",
    "stage",
    "error",
    "error_type",
    "topic",
    "partition",
    "offset",
    "key",
    "article_id",
    "original_b64",
    "headers",
    "failed_at",
    "mentions",
    "field",
    "start",
    "end",
    "names",
    "type",
    "share",
)


def mutate(data: bytes, max_size: int, seed: int) -> bytes:
    """A structure-aware mutation: pydantic's validators are compiled, out of atheris's sight,
    so byte-level coverage cannot steer the fuzzer to a field; half the time, set one field
    (or one field of one nested object) of a JSON object input to a value from the palette."""
    import random

    chooser = random.Random(seed)
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if not isinstance(document, dict) or chooser.random() < 0.5:
        return bytes(atheris.Mutate(data, max_size))
    target = document
    nested = [v for v in document.values() if isinstance(v, dict)]
    nested += [
        i for v in document.values() if isinstance(v, list) for i in v if isinstance(i, dict)
    ]
    if nested and chooser.random() < 0.3:
        target = chooser.choice(nested)
    target[chooser.choice(FIELDS)] = chooser.choice(PALETTE)
    if chooser.random() < 0.1 and target:
        del target[chooser.choice(list(target))]
    text = json.dumps(document, ensure_ascii=chooser.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")[:max_size]  # a lone surrogate stays invalid


def seeds() -> dict[str, bytes]:
    """Generated seeds beside the committed ones: each model's own JSON, valid and broken."""
    raw = RawArticle(id="0" * 32, title="t", body="پاکستان भारत\u200c", source="s")
    enriched = EnrichedArticle(id="1" * 32, body="b", vector=[0.5, -0.5])
    letter = DeadLetter.from_bytes(b"\xff\x00", stage="index", error="e", error_type="E")
    out: dict[str, bytes] = {}
    for name, model in (("raw", raw), ("enriched", enriched), ("letter", letter)):
        encoded = model.model_dump_json().encode()
        out[f"gen-{name}.json"] = encoded
        out[f"gen-{name}-cut.json"] = encoded[: len(encoded) // 2]
        fields = json.loads(encoded)
        fields["schema_version"] = 2
        out[f"gen-{name}-v2.json"] = json.dumps(fields).encode()
    return out


def main() -> None:
    from tools.fuzz.common import fuzz

    fuzz(TARGET, check_event, seeds(), mutator=mutate)


if __name__ == "__main__":
    main()
