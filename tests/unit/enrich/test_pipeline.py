"""The enrichment pipeline as a plain function: contract, offsets, overlap policy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.enrich.ner import NerSpan
from services.enrich.pipeline import Candidate, Enricher, ModelExtractor, build_entities, lead_cut
from shared import names
from shared.ids import article_id
from shared.kb import KbEntry
from shared.models import RawArticle
from tests.unit.enrich.fakes import TaggerFake

ENRICHER = Enricher()
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _raw(title: str | None, body: str) -> RawArticle:
    return RawArticle(id=article_id(url=None, title=title, body=body), title=title, body=body)


def _check_offsets(article: dict[str, object]) -> None:
    for entity in article["entities"]:  # type: ignore[attr-defined]
        for mention in entity["mentions"]:
            text = str(article[mention["field"]])
            assert text[mention["start"] : mention["end"]] == mention["text"]


def test_same_country_in_three_scripts_is_one_entity() -> None:
    articles = [
        _raw(
            "پاکستان اور چین کے درمیان معاہدہ",
            "اسلام آباد، 3 مئی 2025: پاکستان اور چین نے معاہدہ کیا۔",
        ),
        _raw(
            "पाकिस्तान और चीन के बीच समझौता", "इस्लामाबाद, 3 मई 2025: पाकिस्तान और चीन ने समझौता किया।"
        ),
        _raw(
            "Pakistan and China sign accord",
            "ISLAMABAD, 3 May 2025: Pakistan and China signed an accord.",
        ),
    ]
    results = [ENRICHER.enrich(a, now=NOW) for a in articles]
    assert [r.language for r in results] == ["ur", "hi", "en"]
    assert [r.script for r in results] == ["Arab", "Deva", "Latn"]
    for result in results:
        ids = {e.id for e in result.entities}
        assert {"geo:PK", "geo:CN"} <= ids
        assert result.published_at == datetime(2025, 5, 3, tzinfo=UTC)
        _check_offsets(result.model_dump())


def test_unknown_person_gets_one_id_across_hindi_and_urdu() -> None:
    def person(text: str, language: str) -> Candidate:
        return Candidate("body", 0, len(text), text, "PER", "model", 0.9)

    hindi = build_entities([person("नबील मुनीर", "hi")], "hi")
    urdu = build_entities([person("نبیل منیر", "ur")], "ur")
    assert hindi[0].id == urdu[0].id
    assert hindi[0].id.startswith("per:") and not hindi[0].linked
    assert hindi[0].name.isascii()


def test_confident_person_span_beats_a_place_inside_it() -> None:
    town = KbEntry(id="geo:x", type="LOC", kind="city", name="Town", names={"en": "Town"})
    kb_hit = Candidate("body", 0, 4, "سارہ", "LOC", "kb", 0.9, town)
    person = Candidate("body", 0, 10, "سارہ قریشی", "PER", "model", 0.8)
    entities = build_entities([kb_hit, person], "ur")
    assert [e.type for e in entities] == ["PER"]
    # but a model span made of KB names does not swallow them
    pk = KbEntry(id="geo:PK", type="LOC", kind="country", name="Pakistan", names={})
    both = [
        Candidate("body", 0, 7, "Pakistan", "LOC", "kb", 1.0, pk),
        Candidate("body", 0, 9, "Pakistan X", "ORG", "model", 0.9),
    ]
    assert [e.id for e in build_entities(both, "en")] == ["geo:PK"]


def test_furniture_only_and_empty_pages_are_flagged_not_raised() -> None:
    empty = ENRICHER.enrich(_raw(None, "   \n\n  "), now=NOW)
    assert "empty_body" in empty.flags or "furniture_only" in empty.flags
    assert empty.entities == []


def test_published_date_is_never_in_the_future() -> None:
    result = ENRICHER.enrich(
        _raw(
            "Future", "LONDON, 5 January 2030: Something happened in London today, officials said."
        ),
        now=NOW,
    )
    assert result.published_at is None or result.published_at <= NOW


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=3000))
def test_any_text_enriches_without_error_and_offsets_hold(body: str) -> None:
    result = ENRICHER.enrich(_raw(None, body or "x"), now=NOW)
    _check_offsets(result.model_dump())


class _LeadTagger(TaggerFake):
    """Finds one fixed name, and records how much text it was asked to read."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lengths: list[int] = []

    def tag(self, text: str, language: str) -> list[NerSpan]:
        self.lengths.append(len(text))
        start = text.find(self.name)
        return [] if start < 0 else [NerSpan(start, start + len(self.name), "PER", 0.9, self.name)]


def test_tagger_reads_the_lead_and_its_names_are_marked_again_later() -> None:
    name = "نبیل منیر"
    body = f"{name} نے کہا کہ مذاکرات کامیاب رہے۔ " + "یہ ایک عام جملہ ہے۔ " * 80
    body += f"آخر میں {name} نے شکریہ ادا کیا، اور {name}ی لفظ نہیں۔"
    tagger = _LeadTagger(name)
    extractor = ModelExtractor(tagger, ENRICHER.kb, max_chars=300)  # type: ignore[arg-type]
    candidates = extractor.extract("body", body, "ur")
    assert max(tagger.lengths) <= 300
    starts = [c.start for c in candidates]
    assert starts[0] == 0 and len(starts) == 2  # the lead mention and one whole-word recurrence
    assert all(body[c.start : c.end] == name for c in candidates)
    assert lead_cut(body, 300) <= 300 and body[lead_cut(body, 300) - 1] == "۔"


class _SpanTagger(TaggerFake):
    """A tagger that reports fixed PER spans (surface strings) wherever they occur."""

    def __init__(self, *surfaces: str) -> None:
        self.surfaces = surfaces

    def tag(self, text: str, language: str) -> list[NerSpan]:
        spans = []
        for surface in self.surfaces:
            start = text.find(surface)
            if start >= 0:
                spans.append(NerSpan(start, start + len(surface), "PER", 0.9, surface))
        return spans


def _person_mentions(body: str, *surfaces: str) -> list[str]:
    extractor = ModelExtractor(_SpanTagger(*surfaces), ENRICHER.kb)  # type: ignore[arg-type]
    found = extractor.extract("body", body, "ur")
    assert all(body[c.start : c.end] == c.text for c in found)
    return [c.text for c in found if c.type == "PER"]


def test_person_mentions_lose_their_titles_and_the_place_a_title_names() -> None:
    body = "وزیر اعلیٰ سندھ مراد علی شاہ نے اجلاس کی صدارت کی۔"
    # the title and Sindh (whose chief minister he is) are cut off the span
    assert _person_mentions(body, "وزیر اعلیٰ سندھ مراد علی شاہ") == ["مراد علی شاہ"]
    # the same when the tagger left the title outside the span
    assert _person_mentions(body, "سندھ مراد علی شاہ") == ["مراد علی شاہ"]
    # a mention that is only a title is no person at all
    assert _person_mentions(body, "وزیر اعلیٰ") == []
    # without a title before it, a span is left as the tagger found it
    assert _person_mentions("سندھ مراد علی شاہ نے کہا۔", "سندھ مراد علی شاہ") == [
        "سندھ مراد علی شاہ"
    ]
    # a one-word name after the place stays whole: it may be a name starting with a place name
    assert _person_mentions("صدر پاکستان زرداری نے کہا۔", "پاکستان زرداری") == ["پاکستان زرداری"]


def test_unknown_organisation_keeps_words_that_are_titles_for_a_person() -> None:
    article = ENRICHER.enrich(
        _raw(None, "The Foreign Office said on Monday that talks would resume in the capital.")
    )
    ids = {e.id: e.name for e in article.entities}
    assert ids.get(names.entity_id("Foreign Office", "ORG")) == "Foreign Office"
    assert names.entity_id("Foreign Office", "ORG") != names.entity_id("Office", "ORG")
    assert names.entity_id("President Arif Alvi", "PER") == names.entity_id("Arif Alvi", "PER")


@pytest.mark.parametrize(
    ("body", "entity_id", "short"),
    [
        (
            "Pakistan Tehreek-e-Insaf (PTI) called a protest on Friday, and PTI workers gathered"
            " outside the press club. KARACHI (Reuters) - Markets were calm, Reuters reported.",
            "org:pti",
            "PTI",
        ),
        (
            "پاکستان پیپلز پارٹی (پی پی پی) نے اجلاس طلب کیا ہے اور پی پی پی کے رہنماؤں نے"
            " شرکت کی تصدیق کر دی ہے۔",
            "org:ppp",
            "پی پی پی",
        ),
    ],
)
def test_a_short_name_defined_in_brackets_stands_for_the_entity(
    body: str, entity_id: str, short: str
) -> None:
    article = ENRICHER.enrich(_raw(None, body))
    _check_offsets(article.model_dump())
    entity = next(e for e in article.entities if e.id == entity_id)
    assert sum(m.text == short for m in entity.mentions) == 2
    # a bracket that is no acronym of the name before it ("KARACHI (Reuters)") defines nothing
    assert all(
        m.text != "Reuters" for e in article.entities if e.id != "org:reuters" for m in e.mentions
    )


def test_an_unlinked_name_gets_one_type_per_article() -> None:
    field: Literal["body"] = "body"
    candidates = [
        Candidate(field, 0, 8, "Grayston", "PER", "model", 0.3),
        Candidate(field, 20, 28, "Grayston", "LOC", "model", 0.6),
        Candidate(field, 40, 48, "Grayston", "PER", "model", 0.2),
    ]
    entities = build_entities(candidates, "en")
    assert len(entities) == 1 and entities[0].type == "LOC" and len(entities[0].mentions) == 3
