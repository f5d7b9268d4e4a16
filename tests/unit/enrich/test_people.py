"""People, as issue #19 asks: titles are evidence and never part of a name, a person is never fused
with the organisation or place before him, and group nouns are never persons.

Every sentence here is written for these tests. The taggers are fakes that report fixed spans, so
each test pins what the enrichment makes of a given tagger answer, whatever the CRF says today.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.enrich.ner import NerSpan
from services.enrich.ner.tagger import EntityType
from services.enrich.pipeline import Candidate, Enricher, ModelExtractor, build_entities
from shared import names
from shared.ids import article_id
from shared.kb import KbEntry
from shared.models import RawArticle
from tests.unit.enrich.fakes import TaggerFake

ENRICHER = Enricher()
NOW = datetime(2025, 6, 1, tzinfo=UTC)


class _FixedTagger(TaggerFake):
    """Reports each ``(surface, type, score)`` wherever the surface occurs in the text."""

    def __init__(self, *spans: tuple[str, EntityType, float]) -> None:
        self.spans = spans

    def tag(self, text: str, language: str) -> list[NerSpan]:
        found = []
        for surface, kind, score in self.spans:
            start = text.find(surface)
            if start >= 0:
                found.append(NerSpan(start, start + len(surface), kind, score, surface))
        return found


def _mentions(body: str, *spans: tuple[str, EntityType, float]) -> list[tuple[str, str]]:
    """(type, text) of what the model extractor proposes for the tagger's ``spans``."""
    extractor = ModelExtractor(_FixedTagger(*spans), ENRICHER.kb)  # type: ignore[arg-type]
    found = extractor.extract("body", body, "ur")
    assert all(body[c.start : c.end] == c.text for c in found)
    return [(c.type, c.text) for c in found]


def _people(title: str, body: str, *spans: tuple[str, EntityType, float]) -> list[str]:
    """Names of the person entities an article gets with a tagger reporting ``spans``."""
    enricher = Enricher(kb=ENRICHER.kb, tagger=_FixedTagger(*spans))  # type: ignore[arg-type]
    raw = RawArticle(
        id=article_id(url=None, title=title, body=body), title=title, body=body, language_hint=None
    )
    article = enricher.enrich(raw, now=NOW)
    return [m.text for e in article.entities if e.type == "PER" for m in e.mentions]


# --------------------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("mention", "name"),
    [
        ("وزیر خارجہ احسن رضا", "احسن رضا"),  # a minister's portfolio is part of his title
        ("جرمن وزیر داخلہ کلارا وین", "کلارا وین"),  # a description up to the title goes too
        ("ترجمان دفتر خارجہ نگہت بانو", "نگہت بانو"),  # the office he speaks for as well
        ("विदेश मंत्री अरुण देवगन", "अरुण देवगन"),
        ("केंद्रीय गृह सचिव प्रिया नायर", "प्रिया नायर"),
        ("प्रधानमंत्री कमला देवी जी", "कमला देवी"),
        ("Foreign Minister Lena Brandt", "Lena Brandt"),
        ("Chairman Omar Qazi", "Omar Qazi"),
        ("مشیر خزانہ", None),  # only a title: no person
        ("सेना प्रमुख", None),
    ],
)
def test_titles_in_three_languages_are_never_part_of_the_name(
    mention: str, name: str | None
) -> None:
    span = names.name_span(mention)
    assert (mention[span[0] : span[1]] if span else None) == name


@pytest.mark.parametrize(
    "name",
    [
        "धर्मवीर प्रधान",  # Pradhan is a surname; only "प्रधान मंत्री" is a title
        "Hugo Sen",
        "Ahmed Sheikh",
        "Martin Luther King",
    ],
)
def test_a_title_word_at_the_end_of_a_name_is_a_surname(name: str) -> None:
    assert names.name_span(name) == (0, len(name))
    assert names.latin_name(name) != names.latin_name(name.rsplit(" ", 1)[0])


def test_honorifics_after_a_name_still_go() -> None:
    assert names.name_span("شفیق احمد صاحب") == (0, len("شفیق احمد"))
    assert names.name_key("सुधीर राव जी") == names.name_key("सुधीर राव")


def test_a_name_after_an_honorific_is_a_person_whatever_the_tagger_said() -> None:
    body = "اجلاس سے جناب فرخ زمان نے خطاب کیا۔"
    assert _mentions(body, ("فرخ زمان", "ORG", 0.4)) == [("PER", "فرخ زمان")]
    # but an office after a title stays what it is
    office = "کل وزیراعظم ہاؤس میں اجلاس ہوا۔"
    assert _mentions(office, ("وزیراعظم ہاؤس", "ORG", 0.7)) == [("ORG", "وزیراعظم ہاؤس")]
    english = "He spoke at the Prime Minister Office on Monday."
    assert ("ORG", "Prime Minister Office") in _mentions(
        english, ("Prime Minister Office", "ORG", 0.7)
    )


# --------------------------------------------------------------------------- no fusion


def test_a_person_is_never_fused_with_the_organisation_before_him() -> None:
    body = "اقوام متحدہ کے سیکرٹری جنرل فیروز ملک نے اپیل کی۔"
    fused = "اقوام متحدہ کے سیکرٹری جنرل فیروز ملک"
    assert _mentions(body, (fused, "ORG", 0.8)) == [("ORG", "اقوام متحدہ"), ("PER", "فیروز ملک")]
    # the same when the tagger called all of it a person, with or without the title
    assert _mentions(body, (fused, "PER", 0.8)) == [("PER", "فیروز ملک")]
    plain = "اقوام متحدہ فیروز ملک نے اپیل کی۔"
    assert _mentions(plain, ("اقوام متحدہ فیروز ملک", "PER", 0.8)) == [("PER", "فیروز ملک")]


def test_an_organisation_a_person_leads_keeps_its_name() -> None:
    body = "विश्व स्वास्थ्य संगठन के महानिदेशक का बयान आया।"
    assert _mentions(body, ("विश्व स्वास्थ्य संगठन", "ORG", 0.9)) == [("ORG", "विश्व स्वास्थ्य संगठन")]
    # a title first and one word after it may be a company ("General Motors"): left alone
    company = "جنرل ٹائرز نے نئی فیکٹری لگائی۔"
    assert _mentions(company, ("جنرل ٹائرز", "ORG", 0.6)) == [("ORG", "جنرل ٹائرز")]


def test_the_united_nations_and_its_secretary_general_are_two_entities() -> None:
    body = "اقوام متحدہ کے سیکرٹری جنرل فیروز ملک نے جنگ بندی کی اپیل کی ہے۔"
    enricher = Enricher(
        kb=ENRICHER.kb,
        tagger=_FixedTagger(("اقوام متحدہ کے سیکرٹری جنرل فیروز ملک", "ORG", 0.8)),  # type: ignore[arg-type]
    )
    raw = RawArticle(id=article_id(url=None, title=None, body=body), title=None, body=body)
    entities = enricher.enrich(raw, now=NOW).entities
    assert {e.type for e in entities} >= {"ORG", "PER"}
    assert any(e.linked and e.type == "ORG" for e in entities)  # the UN, from the knowledge base
    assert [e.name for e in entities if e.type == "PER"] == [names.latin_name("فیروز ملک")]


# --------------------------------------------------------------------------- found by the title


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("روس کے نائب وزیر خارجہ سرگئی ریابکوف نے کہا کہ بات چیت جاری رہے گی۔", "سرگئی ریابکوف"),
        ("محکمہ خارجہ کے ترجمان میتھیو ملر نے بیان جاری کیا۔", "میتھیو ملر"),
        ("बैठक में राजदूत तरणजीत संधू भी मौजूद थे।", "तरणजीत संधू"),
        ("सहायक सचिव डोनाल्ड लू ने कहा कि बातचीत अच्छी रही।", "डोनाल्ड लू"),
    ],
)
def test_a_title_is_evidence_for_the_name_the_tagger_missed(body: str, name: str) -> None:
    assert _mentions(body) == [("PER", name)]


@pytest.mark.parametrize(
    "body",
    [
        "इस योजना का प्रमुख उद्देश्य गरीबी घटाना है।",  # "प्रमुख" as "main" is no title
        "मंत्री ने कहा कि काम जारी रहेगा।",  # a postposition is no name
        "अध्यक्ष महोदय ने सदन स्थगित किया।",  # a form of address
        "समिति के अध्यक्ष पदों के लिए चुनाव हुआ।",  # a plural is no name
        "पूर्व उप राष्ट्रपति जीन - पियरा बेम्बा पर मुकदमा चला।",  # only part of a hyphenated name
        "ترجمان دفتر خارجہ نے کہا۔",  # the office he speaks for is no name
    ],
)
def test_a_title_finds_no_name_where_none_follows(body: str) -> None:
    assert _mentions(body) == []


def test_a_title_adds_nothing_where_the_tagger_read_a_name() -> None:
    body = "ترجمان میتھیو ملر نے بیان جاری کیا۔"
    assert _mentions(body, ("میتھیو ملر", "PER", 0.9)) == [("PER", "میتھیو ملر")]
    assert _mentions(body, ("میتھیو", "LOC", 0.9)) == [("LOC", "میتھیو")]


def test_words_the_training_text_holds_often_are_no_titled_name() -> None:
    class _Frequent(_FixedTagger):
        def frequency(self, word: str, language: str) -> int:
            return 100

    extractor = ModelExtractor(_Frequent(), ENRICHER.kb)  # type: ignore[arg-type]
    assert extractor.extract("body", "ترجمان میتھیو ملر نے بیان جاری کیا۔", "ur") == []


# --------------------------------------------------------------------------- group nouns


@pytest.mark.parametrize(
    "mention",
    [
        "روسی وفد",  # a delegation
        "ایرانی حکام",  # officials
        "سیکیورٹی فورسز",  # forces
        "ترجمان کا دفتر",  # the spokesman's office
        "चीनी प्रतिनिधिमंडल",
        "स्थानीय अधिकारी",
        "सुरक्षा बल",
        "Russian delegation",
    ],
)
def test_group_nouns_are_never_persons(mention: str) -> None:
    assert names.name_span(mention) is None
    assert _mentions(f"کل {mention} پہنچا۔", (mention, "PER", 0.9)) == []


def test_a_name_after_a_group_noun_is_the_person() -> None:
    mention = "روسی وفد کے سربراہ آندرے پاولوف"
    assert names.name_span(mention) == (mention.index("آندرے"), len(mention))
    body = "भारतीय प्रतिनिधिमंडल के प्रमुख सुरेश वर्मा ने कहा।"
    assert _mentions(body, ("भारतीय प्रतिनिधिमंडल के प्रमुख सुरेश वर्मा", "PER", 0.8)) == [
        ("PER", "सुरेश वर्मा")
    ]


def test_a_delegation_never_shows_as_a_person_in_an_article() -> None:
    title = "ماسکو میں مذاکرات کا نیا دور"
    body = "روسی وفد نے بدھ کو مذاکرات میں شرکت کی اور روسی وفد کے سربراہ آندرے پاولوف نے کہا۔"
    people = _people(title, body, ("روسی وفد", "PER", 0.7), ("آندرے پاولوف", "PER", 0.9))
    assert people and set(people) == {"آندرے پاولوف"}


def test_title_evidence_beats_a_town_named_like_the_surname() -> None:
    # the tagger calls the titled name an organisation; the surname is a town in the KB
    body = "ग्रैंडमास्टर विश्वनाथन आनंद ने खिताब जीता।"
    assert ENRICHER.kb.lookup("आनंद") is not None
    people = _people("", body, ("ग्रैंडमास्टर विश्वनाथन आनंद", "ORG", 0.4))
    assert people == ["विश्वनाथन आनंद"]


# --------------------------------------------------------------------------- places inside names


@pytest.mark.parametrize(
    ("body", "place"),
    [
        ("सरकार ने स्वच्छ भारत मिशन का दूसरा चरण शुरू किया।", "भारत"),  # a programme's name
        ("حکومت نے ڈیجیٹل پاکستان پروگرام کا اعلان کیا۔", "پاکستان"),
        ("اسٹیٹ بینک آف انڈیا نے شرح سود بڑھا دی۔", "انڈیا"),  # "… of India" is the bank's
    ],
)
def test_a_place_that_only_names_something_else_is_no_mention(body: str, place: str) -> None:
    assert ENRICHER.kb.lookup(place) is not None
    article = ENRICHER.enrich(RawArticle(id=article_id(url=None, title=None, body=body), body=body))
    assert all(m.text != place for e in article.entities for m in e.mentions)


def test_a_place_before_a_postposition_and_a_programme_word_stays_a_place() -> None:
    body = "भारत के मिशन ने बैठक में हिस्सा लिया।"
    article = ENRICHER.enrich(RawArticle(id=article_id(url=None, title=None, body=body), body=body))
    assert "geo:IN" in {e.id for e in article.entities}


def test_a_place_government_is_the_organisation_not_the_place() -> None:
    body = "उत्तर प्रदेश सरकार ने नई नीति जारी की।"
    people = Enricher(
        kb=ENRICHER.kb,
        tagger=_FixedTagger(("उत्तर प्रदेश सरकार", "ORG", 0.8)),  # type: ignore[arg-type]
    )
    article = people.enrich(RawArticle(id=article_id(url=None, title=None, body=body), body=body))
    assert [(e.type, e.mentions[0].text) for e in article.entities] == [("ORG", "उत्तर प्रदेश सरकार")]


def _person(text: str, start: int, entry: KbEntry | None = None) -> Candidate:
    source = "kb" if entry else "model"
    return Candidate("body", start, start + len(text), text, "PER", source, 0.9, entry)


def test_a_person_named_later_by_surname_alone_is_one_entity() -> None:
    # Written for this test: a full name, then the surname twice.
    entities = build_entities(
        [_person("اسحاق ڈار", 0), _person("ڈار", 60), _person("ڈار", 120)], "ur"
    )
    assert len(entities) == 1
    assert [m.text for m in entities[0].mentions] == ["اسحاق ڈار", "ڈار", "ڈار"]
    assert entities[0].id == build_entities([_person("اسحاق ڈار", 0)], "ur")[0].id


def test_a_surname_the_knowledge_base_knows_links_the_full_name_too() -> None:
    minister = KbEntry(id="per:x", type="PER", kind="person", name="S. Jaishankar", names={})
    entities = build_entities([_person("सुब्रह्मण्यम जयशंकर", 0), _person("जयशंकर", 50, minister)], "hi")
    assert [(e.id, len(e.mentions), e.linked) for e in entities] == [("per:x", 2, True)]


def test_a_surname_two_people_in_the_article_share_stays_apart() -> None:
    candidates = [_person("इमरान खान", 0), _person("शाहरुख खान", 40), _person("खान", 90)]
    entities = build_entities(candidates, "hi")
    assert len(entities) == 3
    assert [m.text for m in entities[2].mentions] == ["खान"]
