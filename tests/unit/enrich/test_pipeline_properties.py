"""Hostile text through the enrichment: an enriched article with flags, never an exception.

``Enricher.enrich`` promises never to raise on odd text. These properties feed it what a hostile
or broken source sends — control, zero-width and bidirectional-override characters, lone
surrogates, binary junk read as text, megabytes of one character — and check the output still
honours the contract: mention offsets hold and the event survives the JSON wire.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.enrich.pipeline import Enricher
from shared.ids import article_id
from shared.models import EnrichedArticle, RawArticle
from tests.unit.hostile import NASTY

NOW = datetime(2025, 6, 1, tzinfo=UTC)
WORDS = ["پاکستان", "भारत", "Pakistan", "India", "نبیل منیر", "नबील मुनीर", "12 مارچ 2025", "Lahore"]


@cache
def enricher() -> Enricher:
    """One enricher for the module (loading models takes seconds)."""
    return Enricher(max_chars=200_000)


def _enrich(title: str | None, body: str) -> EnrichedArticle:
    raw = RawArticle(id=article_id(url=None, title=title, body=body), title=title, body=body)
    enriched = enricher().enrich(raw, now=NOW)
    for entity in enriched.entities:
        for mention in entity.mentions:
            text = enriched.title if mention.field == "title" else enriched.body
            assert (text or "")[mention.start : mention.end] == mention.text
    assert enriched.published_at is None or enriched.published_at <= NOW
    wire = enriched.model_dump_json().encode("utf-8")
    assert EnrichedArticle.model_validate_json(wire).id == raw.id
    return enriched


hostile = st.lists(st.sampled_from(WORDS) | st.text(alphabet=NASTY, max_size=8), max_size=60).map(
    " ".join
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.none() | hostile, body=hostile)
def test_control_zero_width_bidi_and_surrogates_never_break_enrichment(
    title: str | None, body: str
) -> None:
    _enrich(title, body)


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=1, max_size=4_000))
def test_binary_junk_read_as_text_is_flagged_not_raised(data: bytes) -> None:
    _enrich(None, data.decode("latin-1"))


@pytest.mark.parametrize(
    "body",
    [
        "\u202eپاکستان\u202c اور \u2066भारत\u2069 کے درمیان مذاکرات ہوئے۔",
        "پاک\u200bستان اور بھا\u200dرت کے درمیان مذاکرات ہوئے۔",
    ],
    ids=["bidi-override", "zero-width"],
)
def test_invisible_characters_do_not_hide_entities(body: str) -> None:
    enriched = _enrich(None, body)
    assert {"geo:PK", "geo:IN"} <= {entity.id for entity in enriched.entities}


def test_five_megabytes_of_text_is_truncated_not_a_stall() -> None:
    enriched = _enrich("Big", "Pakistan and India. " * 260_000)
    assert "truncated" in enriched.flags
    assert len(enriched.body) <= 200_000
