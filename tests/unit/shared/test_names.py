"""Cross-script name keys: Hindi and Urdu spellings of one name agree, different names do not."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.names import (
    devanagari_pattern,
    ends_with_title,
    entity_id,
    latin_name,
    name_key,
    name_span,
    urdu_pattern,
)

PAIRS_FILE = Path(__file__).parent / "data" / "name_pairs.tsv"


def load_pairs() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in PAIRS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            hindi, urdu, english, kind = line.split("\t")
            rows.append((hindi, urdu, english, kind))
    return rows


PAIRS = load_pairs()


def test_enough_pairs() -> None:
    assert len(PAIRS) >= 40


def test_hindi_and_urdu_keys_agree() -> None:
    agree = [name_key(hi) == name_key(ur) for hi, ur, _, _ in PAIRS]
    rate = sum(agree) / len(agree)
    assert rate >= 0.85, f"agreement {rate:.0%}"


def test_latin_keys_mostly_agree_with_hindi() -> None:
    agree = [name_key(hi) == name_key(en) for hi, _, en, _ in PAIRS]
    assert sum(agree) / len(agree) >= 0.8


def test_distinct_names_do_not_collide() -> None:
    referents: dict[str, set[str]] = defaultdict(set)
    for hindi, urdu, english, _ in PAIRS:
        for spelling in (hindi, urdu, english):
            referents[name_key(spelling)].add(english)
    collisions = {key: names for key, names in referents.items() if len(names) > 1}
    assert collisions == {}


@pytest.mark.parametrize(
    ("hindi", "urdu"),
    [
        ("नबील मुनीर", "نبیل منیر"),
        ("शहबाज़ शरीफ़", "شہباز شریف"),
        ("इमरान ख़ान", "عمران خان"),
        ("इमरान खान", "عمران خان"),  # nukta-less Hindi
        ("नरेंद्र मोदी", "نریندر مودی"),
        ("आसिम मुनीर", "عاصم منیر"),
        ("व्लादिमीर पुतिन", "ولادیمیر پوتن"),
        ("इस्लामाबाद", "اسلام آباد"),  # one word in Hindi, two in Urdu
        ("मनमोहन सिंह", "من موہن سنگھ"),
    ],
)
def test_known_pairs(hindi: str, urdu: str) -> None:
    assert name_key(hindi) == name_key(urdu)


def test_titles_and_variants_are_ignored() -> None:
    assert name_key("जनरल आसिम मुनीर") == name_key("آسم منیر") == name_key("عاصم منیر")
    assert name_key("وزیر اعظم شہباز شریف") == name_key("Shahbaz Sharif")
    assert name_key("بابر اعظم") != name_key("بابر")  # اعظم is a name here, not a title
    assert name_key("نبيل منير") == name_key("نبیل منیر")  # Arabic yeh
    assert name_key("Nabeel Muneer") == name_key("Nabil Munir")


def test_entity_id_is_url_safe_ascii() -> None:
    assert entity_id("नबील मुनीर", "PER") == entity_id("نبیل منیر", "PER") == "per:nblmnr"
    for text in ["!!!", "٢٠٢٤", "ओ", "", "習近平", "Владимир Путин"]:
        value = entity_id(text, "MISC")
        assert re.fullmatch(r"misc:[a-z0-9]+", value), value
        assert value == entity_id(text, "MISC")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("नबील मुनीर", "Nabil Munir"),
        ("शहबाज़ शरीफ़", "Shahbaz Sharif"),
        ("नरेंद्र मोदी", "Narendra Modi"),
        ("कमला हैरिस", "Kamla Hairis"),
        ("मनमोहन सिंह", "Manmohan Singh"),
        ("सौरभ भारद्वाज", "Saurabh Bharadwaj"),  # व after a consonant is w
        ("شہباز شریف", "Shehbaz Sharif"),  # the knowledge base's spelling of these words
        ("ریکھا گپتا", "Rekha Gupta"),  # vowels from the Hindi spellings
        ("خواجہ آصف", "Khwaja Asif"),
        ("سلمان اکرم", "Salman Akram"),  # a guessed vowel before the last consonant
        ("एस. सोमनाथ", "S. Somnath"),  # letter names are initials
        ("एम एस धोनी", "M. S. Dhoni"),
        ("जी किशन रेड्डी", "G. Kishan Reddi"),  # leading जी is an initial, trailing जी an honorific
        ("नरेंद्र मोदी जी", "Narendra Modi"),
        ("ایم اے جناح", "M. A. Jinnah"),
        ("ایم کیو ایم", "MQM"),  # an acronym spelt out
        ("Imran  Khan", "Imran Khan"),
    ],
)
def test_latin_name(text: str, expected: str) -> None:
    assert latin_name(text) == expected


def test_latin_name_is_ascii_for_indic_scripts() -> None:
    for hindi, urdu, _, _ in PAIRS:
        for text in (hindi, urdu):
            value = latin_name(text)
            assert value.isascii() and value.strip() == value and value, text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_keys_never_crash_and_stay_ascii(text: str) -> None:
    key = name_key(text)
    assert key.isascii() and key == key.lower()
    assert re.fullmatch(r"[a-z]+:[a-z0-9]+", entity_id(text, "PER"))


@pytest.mark.parametrize(
    ("mention", "name"),
    [
        ("وزیر اعظم شہباز شریف", "شہباز شریف"),
        ("प्रधान मंत्री नरेंद्र मोदी जी", "नरेंद्र मोदी"),
        ("Dr. Nabeel Muneer", "Nabeel Muneer"),
        ("नबील मुनीर", "नबील मुनीर"),
        ("پاکستانی وزیر اعظم شہباز شریف", "شہباز شریف"),  # a description up to a title
        ("डेमोक्रेटिक सेन. डायने फेइंस्टीन", "डायने फेइंस्टीन"),
        ("35 वर्षीय राहुल शर्मा", "राहुल शर्मा"),
        ("وزیر اعلیٰ", None),
        ("President", None),
    ],
)
def test_name_span_cuts_titles_off_a_person_mention(mention: str, name: str | None) -> None:
    span = name_span(mention)
    assert (mention[span[0] : span[1]] if span else None) == name


def test_ends_with_title_and_titles_only_strip_for_people() -> None:
    assert ends_with_title("اجلاس میں وزیر اعلیٰ")
    assert ends_with_title("the meeting chaired by President ")
    assert not ends_with_title("اجلاس میں")
    assert not ends_with_title("")
    assert name_key("Foreign Office", strip_titles=False) != name_key("Foreign Office")
    assert latin_name("Foreign Office", strip_titles=False) == "Foreign Office"


def test_urdu_and_hindi_spellings_share_a_vowel_pattern() -> None:
    assert urdu_pattern("کمار") == devanagari_pattern("कुमार") == "kmAr"
    assert urdu_pattern("یادو") == devanagari_pattern("यादव") == "IAdU"
    assert urdu_pattern("احسن") == devanagari_pattern("अहसन") == "Vhsn"
    assert urdu_pattern("خواجہ") == devanagari_pattern("ख्वाजा") == "kUAjA"


def test_urdu_names_read_as_their_english_spelling() -> None:
    """Word by word over the name pairs: the rules alone got 28 of 124 words exactly; with the
    lexicon of Hindi and knowledge-base spellings and the final-vowel guess, 78. Many of these
    words are in KB names, whose English spellings the lexicon holds; the 50 that are not went
    from 6 to 17."""
    exact = total = 0
    for _hindi, urdu, english, _kind in PAIRS:
        if len(urdu.split()) == len(english.split()):
            for word, expected in zip(urdu.split(), english.split(), strict=True):
                total += 1
                exact += latin_name(word).lower() == expected.lower()
    assert total > 100 and exact / total >= 0.55
