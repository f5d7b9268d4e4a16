"""The bundled knowledge base and its gazetteer matcher."""

from __future__ import annotations

import gzip
import json
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.kb import DEFAULT_KB_PATH, KnowledgeBase, tokenize
from tests.unit.enrich.strategies import mixed_script_text


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def ids(kb: KnowledgeBase, text: str) -> list[str]:
    return [hit.entry.id for hit in kb.find_mentions(text)]


def test_bundled_file_is_compact_and_loads() -> None:
    """Size and content; load time and matching speed are measured by ``make bench`` (kb)."""
    assert DEFAULT_KB_PATH.stat().st_size < 3_000_000
    fresh = KnowledgeBase.from_json(json.loads(gzip.decompress(DEFAULT_KB_PATH.read_bytes())))
    assert len(fresh) > 5000


def test_load_is_cached(kb: KnowledgeBase) -> None:
    assert KnowledgeBase.load() is kb


@pytest.mark.parametrize(
    ("names", "entity_id"),
    [
        (["پاکستان", "पाकिस्तान", "Pakistan"], "geo:PK"),
        (["امریکہ", "امریکا", "अमेरिका", "United States", "USA"], "geo:US"),
        (["بھارت", "ہندوستان", "भारत", "हिंदुस्तान", "India"], "geo:IN"),
        (["برطانیہ", "ब्रिटेन", "Britain"], "geo:GB"),
        (["چین", "चीन", "China"], "geo:CN"),
        (["روس", "रूस", "Russia"], "geo:RU"),
        (["اقوام متحدہ", "संयुक्त राष्ट्र", "United Nations", "UN"], "org:un"),
        (["نیٹو", "नाटो", "NATO"], "org:nato"),
        (["آئی ایس آئی", "आईएसआई", "ISI"], "org:isi"),
        (["تحریک طالبان پاکستان", "टीटीपी", "TTP"], "org:ttp"),
        (["خیبر پختونخوا", "ख़ैबर पख़्तूनख़्वा", "Khyber Pakhtunkhwa"], "geo:PK-KP"),
        (["لوک سبھا", "लोकसभा", "Lok Sabha"], "org:lok-sabha"),
        (["کراچی", "कराची", "Karachi"], "geo:gn1174872"),
        (["لاہور", "लाहौर", "Lahore"], "geo:gn1172451"),
    ],
)
def test_names_in_every_script_link_to_one_id(
    kb: KnowledgeBase, names: list[str], entity_id: str
) -> None:
    for name in names:
        entry = kb.lookup(name)
        assert entry is not None and entry.id == entity_id, name
        assert ids(kb, f"xx {name} yy") == [entity_id], name


def test_entry_shape(kb: KnowledgeBase) -> None:
    pakistan = kb.get("geo:PK")
    assert pakistan is not None
    assert (pakistan.type, pakistan.kind, pakistan.name) == ("LOC", "country", "Pakistan")
    assert pakistan.names["ur"] == "پاکستان" and pakistan.names["hi"] == "पाकिस्तान"
    assert hash(pakistan) == hash(kb.get("geo:PK"))
    assert kb.get("geo:nowhere") is None


def test_offsets_are_exact_in_mixed_text(kb: KnowledgeBase) -> None:
    text = (
        "\u200fوزیر اعظم شہباز شریف نے کہا کہ پاکستان اور بھارت۔ "
        "लाहौर और दिल्ली में भारत के प्रधानमंत्री नरेंद्र मोदी। The UN met in Karachi."
    )
    hits = kb.find_mentions(text)
    for hit in hits:
        assert text[hit.start : hit.end] == hit.text
        assert 0.0 < hit.score <= 1.0
    assert [h.entry.id for h in hits] == [
        "per:shehbaz-sharif",
        "geo:PK",
        "geo:IN",
        "geo:gn1172451",
        "geo:gn1273294",
        "geo:IN",
        "per:narendra-modi",
        "org:un",
        "geo:gn1174872",
    ]


def test_variant_spellings_still_match(kb: KnowledgeBase) -> None:
    assert ids(kb, "اليمن و يمن") == ["geo:YE"]  # Arabic yeh; the article form is another word
    assert ids(kb, "في كراچي") == ["geo:gn1174872"]  # Arabic kaf and yeh
    assert ids(kb, "بهارت") == ["geo:IN"]  # Arabic heh as do-chashmi
    assert ids(kb, "पाकिस्तान\u200c") == ["geo:PK"]
    hits = kb.find_mentions("अफ़ग़ानिस्तान और अफगानिस्तान")
    assert [h.entry.id for h in hits] == ["geo:AF", "geo:AF"]
    assert hits[0].text == "अफ़ग़ानिस्तान"
    assert ids(kb, "پاکـــستان") == ["geo:PK"]


def test_longest_match_wins(kb: KnowledgeBase) -> None:
    hits = kb.find_mentions("شمالی کوریا اور اقوام متحدہ کی سلامتی کونسل")
    assert [h.text for h in hits] == ["شمالی کوریا", "اقوام متحدہ کی سلامتی کونسل"]
    assert [h.entry.id for h in hits] == ["geo:KP", "org:unsc"]


def test_only_whole_tokens(kb: KnowledgeBase) -> None:
    # Demonyms and adjectives are different words: not mentions of the place.
    assert ids(kb, "پاکستانی حکومت") == []
    assert ids(kb, "भारतीय टीम") == []
    assert ids(kb, "Indian Pakistani") == []
    assert ids(kb, "भारत के प्रधानमंत्री") == ["geo:IN"]
    assert ids(kb, "پاکستان کے وزیر") == ["geo:PK"]


@pytest.mark.parametrize(
    "word", ["اور", "کے", "میں", "سے", "और", "में", "के", "Of", "And", "of", "and", "The", "شام"]
)
def test_collision_words_never_match(kb: KnowledgeBase, word: str) -> None:
    assert kb.lookup(word) is None
    assert ids(kb, f"{word} {word}") == []


def test_latin_case_rules(kb: KnowledgeBase) -> None:
    assert ids(kb, "pakistan") == []  # lower-case Latin is a word, not a name
    assert ids(kb, "Pakistan") == ["geo:PK"]
    assert ids(kb, "the un said") == []  # acronyms only in capitals
    assert ids(kb, "the UN said") == ["org:un"]
    assert ids(kb, "us and them") == []


def test_ambiguous_alias_follows_context(kb: KnowledgeBase) -> None:
    assert kb.find_mentions("Hyderabad, Sindh")[0].entry.country == "PK"
    assert kb.find_mentions("Hyderabad, Telangana")[0].entry.country == "IN"
    assert kb.find_mentions("پنجاب")[0].entry.id == "geo:PK-PB"
    assert kb.find_mentions("पंजाब")[0].entry.id == "geo:IN-PB"
    assert {e.id for e in kb.candidates("Punjab")} == {"geo:PK-PB", "geo:IN-PB"}


def test_suggest_in_every_script(kb: KnowledgeBase) -> None:
    assert kb.suggest("کراچ")[0].id == "geo:gn1174872"
    assert kb.suggest("पाकि")[0].id == "geo:PK"
    assert "geo:PK" in [e.id for e in kb.suggest("Paki", limit=5)]
    assert kb.suggest("") == []
    assert len(kb.suggest("a", limit=3)) <= 3


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_offsets_valid_on_arbitrary_text(text: str) -> None:
    kb = KnowledgeBase.load()
    previous_end = 0
    for hit in kb.find_mentions(text):
        assert 0 <= hit.start < hit.end <= len(text)
        assert text[hit.start : hit.end] == hit.text
        assert hit.start >= previous_end
        previous_end = hit.end


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["پاکستان", "भारत", "Karachi", " ", "،", "\u200c", "ـ", "x", "के", "\u0651"]
        ),
        max_size=30,
    )
)
def test_offsets_valid_on_name_soup(parts: list[str]) -> None:
    kb = KnowledgeBase.load()
    text = "".join(parts)
    for hit in kb.find_mentions(text):
        assert text[hit.start : hit.end] == hit.text


# The definition the matcher's tokens had before its classes were split into BMP and astral
# parts for speed: letters and digits (``[^\W_]``), combining marks of the BMP, ZWNJ, ZWJ, SHY.
_REFERENCE_MARKS = "".join(
    chr(code) for code in range(0x300, 0x10000) if unicodedata.category(chr(code))[0] == "M"
)
_REFERENCE_TOKEN_RE = re.compile(
    "(?:[^\\W_]|[" + re.escape(_REFERENCE_MARKS) + "\u200c\u200d\u00ad])+"
)


@settings(max_examples=400, deadline=None)
@given(mixed_script_text(" _-.\n\u200c\u200d\u00ad0123456789"))
def test_tokens_match_the_plain_definition(text: str) -> None:
    """The split BMP/astral word classes accept exactly what the one plain class did."""
    assert tokenize(text) == [
        (m.start(), m.end(), m.group()) for m in _REFERENCE_TOKEN_RE.finditer(text)
    ]


def test_a_mention_keeps_its_brackets_balanced(kb: KnowledgeBase) -> None:
    text = "जनता दल (यूनाइटेड) और राष्ट्रीय जनता दल ने गठबंधन किया।"
    hits = {h.entry.id: h.text for h in kb.find_mentions(text)}
    assert hits["org:jdu"] == "जनता दल (यूनाइटेड)"
    assert hits["org:rjd"] == "राष्ट्रीय जनता दल"
