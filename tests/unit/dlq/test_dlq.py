"""Dead-letter selection and routing: what ``khabar dlq replay`` would send, and where.

The broker side (reading the topic, re-publishing) is exercised on the real stack in
``tests/integration/test_faults.py``; here the pure decisions are checked on plain records.
"""

from __future__ import annotations

import pytest
from aiokafka import ConsumerRecord

from services.dlq import ReplayError, StoredLetter, decode_letter, replay_topic, select
from shared.models import DeadLetter
from shared.settings import KhabarSettings

SETTINGS = KhabarSettings(topic_prefix="t.")


def _record(partition: int, offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="t.articles.dlq",
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=(),
    )


def _letter(stage: str, article_id: str, original: bytes) -> bytes:
    letter = DeadLetter.from_bytes(
        original,
        stage=stage,
        error="boom",
        error_type="ValueError",
        key=article_id,
        topic="t.articles.raw",
        partition=0,
        offset=7,
    )
    return letter.model_dump_json().encode()


LETTERS = [
    decode_letter(_record(0, 0, _letter("enrich", "a" * 32, b"\xff raw bytes"))),
    decode_letter(_record(1, 5, _letter("index", "b" * 32, b'{"id": "b"}'))),
    decode_letter(_record(1, 6, b"not a dead letter at all")),
]


def test_records_decode_to_letters_with_their_position_and_original_bytes() -> None:
    first, second, junk = LETTERS
    assert first.letter is not None and first.letter.original() == b"\xff raw bytes"
    assert (first.position, first.article_id) == ("0:0", "a" * 32)
    assert second.position == "1:5" and second.letter is not None
    assert junk.letter is None and junk.problem and "not a dead letter" in junk.problem


def test_each_stage_replays_into_the_topic_it_consumes() -> None:
    assert replay_topic(SETTINGS, "enrich") == "t.articles.raw"
    assert replay_topic(SETTINGS, "index") == "t.articles.enriched"
    with pytest.raises(ReplayError):
        replay_topic(SETTINGS, "api")


def test_selection_by_id_by_position_or_all() -> None:
    assert select(LETTERS, ids=["b" * 32]) == [LETTERS[1]]
    assert select(LETTERS, positions=["0:0"]) == [LETTERS[0]]
    assert select(LETTERS, everything=True) == LETTERS


def test_asking_for_an_unknown_letter_is_an_error_not_a_silent_no_op() -> None:
    with pytest.raises(ReplayError, match="9:9"):
        select(LETTERS, positions=["0:0", "9:9"])


def test_stored_letter_without_a_letter_has_no_article_id() -> None:
    assert StoredLetter(0, 1, None, "junk").article_id is None


def test_dlq_list_prints_a_table_of_letters_and_undecodable_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    import services.dlq
    from services.cli import app

    stored = [
        decode_letter(_record(0, 3, _letter("enrich", "a" * 32, b"{}"))),
        decode_letter(_record(1, 9, b"not a dead letter")),
    ]

    async def fake_list(settings: KhabarSettings, **_: object) -> list[StoredLetter]:
        return stored

    monkeypatch.setattr(services.dlq, "list_dead_letters", fake_list)
    result = CliRunner().invoke(app, ["dlq", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:] if line}
    assert rows["0:3"][1:3] == ["enrich", "a" * 32]
    assert "ValueError: boom" in " ".join(rows["0:3"])
    assert rows["1:9"][1:4] == ["-", "-", "-"]
