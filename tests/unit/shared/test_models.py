from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.models import ArticleSubmission, DeadLetter, EnrichedArticle, RawArticle


def test_dead_letter_keeps_original_bytes_exactly() -> None:
    original = b"\xff\x00not json \xd8\x00"
    letter = DeadLetter.from_bytes(original, stage="enrich", error="bad", error_type="ValueError")
    again = DeadLetter.model_validate_json(letter.model_dump_json())
    assert again.original() == original
    assert again.schema_version == 1


def test_raw_article_round_trips_and_rejects_bad_ids() -> None:
    raw = RawArticle(id="0" * 32, body="متن", title="عنوان")
    assert RawArticle.model_validate_json(raw.model_dump_json()) == raw
    with pytest.raises(ValidationError):
        RawArticle(id="not-hex", body="x")


def test_enriched_article_defaults_are_explicit() -> None:
    article = EnrichedArticle(id="a" * 32, body="x")
    assert article.language == "und" and article.script == "Zyyy" and article.entities == []


def test_submission_refuses_unknown_fields_and_empty_body() -> None:
    with pytest.raises(ValidationError):
        ArticleSubmission.model_validate({"body": "x", "surprise": 1})
    with pytest.raises(ValidationError):
        ArticleSubmission.model_validate({"body": ""})
    with pytest.raises(ValidationError):
        ArticleSubmission.model_validate({"body": "x", "published_at": "2024-01-01T00:00:00"})


@pytest.mark.parametrize("number", [1_700_000_000, 1.7e9, 0, True])
def test_a_submitted_time_is_text_not_a_number(number: object) -> None:
    # the OpenAPI schema documents an RFC 3339 string; pydantic alone would read Unix time
    with pytest.raises(ValidationError, match="RFC 3339 string"):
        ArticleSubmission.model_validate({"body": "x", "published_at": number})
    given = ArticleSubmission.model_validate(
        {"body": "x", "published_at": "2024-01-01T05:30:00+05:30"}
    )
    assert given.published_at is not None and given.published_at.utcoffset() is not None
