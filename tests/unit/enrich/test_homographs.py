"""Place names that are also common words link only where the context is about the place (#19).

The knowledge base marks such aliases as homographs (``tools/kb_aliases.json``, ``homographs``):
Urdu چین is China and a chain ("سپلائی چین", a supply chain), Hindi सूरत is Surat and a face. Such
a match is a mention only where the NER tagger reads a name of a confirming type over it. Every
sentence here is written for these tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.enrich.ner import NerSpan
from services.enrich.ner.tagger import EntityType
from services.enrich.pipeline import HOMOGRAPH_SCORE, Enricher, GazetteerExtractor, ModelExtractor
from shared.ids import article_id
from shared.models import RawArticle
from tests.unit.enrich.fakes import TaggerFake

ENRICHER = Enricher()
NOW = datetime(2025, 6, 1, tzinfo=UTC)


class _Tagger(TaggerFake):
    """Reports one span over ``surface`` (its first occurrence) with the given type and score,
    and remembers the texts it was asked to read."""

    def __init__(self, surface: str, kind: EntityType, score: float) -> None:
        self.surface, self.kind, self.score = surface, kind, score
        self.asked: list[str] = []

    def tag(self, text: str, language: str) -> list[NerSpan]:
        self.asked.append(text)
        at = text.find(self.surface)
        if at < 0:
            return []
        return [NerSpan(at, at + len(self.surface), self.kind, self.score, self.surface)]


def _linked(
    text: str, tagger: _Tagger | None, lead_chars: int | None = None
) -> list[tuple[str, str | None]]:
    extractor = GazetteerExtractor(ENRICHER.kb, tagger, lead_chars)  # type: ignore[arg-type]
    return [
        (c.text, c.entry.id if c.entry else None) for c in extractor.extract("body", text, "ur")
    ]


def test_the_bundled_knowledge_base_marks_its_homographs() -> None:
    homographs = set(ENRICHER.kb.metadata["homographs"])
    assert {"چین", "سورت", "بہار"} - homographs == {"سورت"}  # سورت is no alias at all
    assert "सूरत" in homographs
    hits = ENRICHER.kb.find_mentions("چین اور امریکہ")
    assert [(h.text, h.homograph) for h in hits] == [("چین", True), ("امریکہ", False)]


def test_a_homograph_links_only_where_the_tagger_reads_the_place() -> None:
    text = "چین اور امریکہ کے درمیان مذاکرات ہوئے۔"
    assert _linked(text, _Tagger("چین", "LOC", 0.9)) == [("چین", "geo:CN"), ("امریکہ", "geo:US")]
    assert _linked(text, _Tagger("چین", "ORG", 0.9))[0] == ("چین", "geo:CN")  # a country acts
    assert _linked(text, _Tagger("چین", "PER", 0.9)) == [("امریکہ", "geo:US")]
    assert _linked(text, _Tagger("چین", "LOC", HOMOGRAPH_SCORE - 0.01)) == [("امریکہ", "geo:US")]
    assert _linked(text, _Tagger("امریکہ", "LOC", 0.9)) == [("امریکہ", "geo:US")]
    assert _linked(text, None) == [("امریکہ", "geo:US")]  # no tagger, no evidence


def test_the_tagger_reads_only_the_sentence_around_the_homograph() -> None:
    first = "کل رات شدید بارش ہوئی۔ "
    second = "چین نے نئی پالیسی کا اعلان کیا۔"
    third = " بازار آج بند رہے۔"
    tagger = _Tagger("چین", "LOC", 0.9)
    assert _linked(first + second + third, tagger) == [("چین", "geo:CN")]
    assert tagger.asked == [second]


def test_in_the_lead_the_tagger_reads_the_lead_the_model_extractor_reads() -> None:
    lead = "کل رات شدید بارش ہوئی۔ چین نے نئی پالیسی کا اعلان کیا۔"
    text = lead + " بازار آج بند رہے اور چین کی دکانیں بھی۔"
    tagger = _Tagger("چین", "LOC", 0.9)
    assert _linked(text, tagger, lead_chars=len(lead) + 1) == [("چین", "geo:CN"), ("چین", "geo:CN")]
    assert tagger.asked == [lead, "بازار آج بند رہے اور چین کی دکانیں بھی۔"]


def test_the_real_tagger_reads_an_article_lead_once() -> None:
    text = "چین اور امریکہ کے درمیان مذاکرات ہوئے۔"
    tagger = ENRICHER.tagger
    first = tagger.read(text, "ur")
    assert tagger.read(text, "ur") is first
    assert first.tokens is not None and first.tokens.words[0] == "چین"
    assert tagger.tag(text, "ur") == list(first.spans)


@pytest.mark.parametrize(
    ("body", "language", "entity"),
    [
        ("عالمی سپلائی چین میں خلل سے قیمتیں بڑھ گئیں۔", "ur", None),  # a supply chain
        ("چین اور امریکہ کے درمیان تجارتی مذاکرات شروع ہوگئے۔", "ur", "geo:CN"),
        ("موسم بہار میں پھول کھلتے ہیں اور باغ سج جاتے ہیں۔", "ur", None),  # spring
        ("بہار میں انتخابات کے نتائج کا اعلان کر دیا گیا۔", "ur", "geo:IN-BR"),
        ("انہوں نے کامیابی پر دلی مبارکباد پیش کی۔", "ur", None),  # heartfelt
        ("सूरत में हीरा कारोबारियों ने हड़ताल की।", "hi", "geo:gn1255364"),
        ("उसकी सूरत देखकर सब हैरान रह गए।", "hi", None),  # a face
        ("इस फिल्म में बहुत आनंद आया।", "hi", None),  # joy
    ],
)
def test_the_shipped_tagger_tells_the_place_from_the_word(
    body: str, language: str, entity: str | None
) -> None:
    raw = RawArticle(
        id=article_id(url=None, title=None, body=body), body=body, language_hint=language
    )
    places = {e.id for e in ENRICHER.enrich(raw, now=NOW).entities if e.type == "LOC"}
    homograph_ids = {"geo:CN", "geo:IN-BR", "geo:gn1273294", "geo:gn1255364", "geo:gn1278685"}
    assert places & homograph_ids == ({entity} if entity else set())


def test_the_tagger_alone_must_be_as_sure_of_a_homograph() -> None:
    text = "उसकी सूरत देखकर सब हैरान रह गए।"

    def found(score: float) -> list[str]:
        tagger = _Tagger("सूरत", "LOC", score)
        extractor = ModelExtractor(tagger, ENRICHER.kb)  # type: ignore[arg-type]
        return [c.text for c in extractor.extract("body", text, "hi")]

    assert found(HOMOGRAPH_SCORE - 0.01) == []
    assert found(HOMOGRAPH_SCORE) == ["सूरत"]
