"""Language and script identification: main languages, romanised Hindustani, mixed text,
hostile input, and (when ../shared is present) accuracy on NTREX news."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.enrich.language import LanguageResult, detect_language, detect_script
from shared.models import LanguageShare

DATA = Path(__file__).parent / "data"
NTREX = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "ntrex"
CODE_RE = re.compile(r"^[a-z]{2,3}$")
SCRIPT_RE = re.compile(r"^[A-Z][a-z]{3}$")

URDU = (
    "وفاقی حکومت نے آئندہ مالی سال کے بجٹ میں تعلیم اور صحت کے شعبوں کے لیے اضافی فنڈز "
    "مختص کرنے کا فیصلہ کیا ہے۔ وزیر خزانہ کے مطابق اس اقدام سے عوام کو براہِ راست فائدہ پہنچے گا۔"
)
HINDI = (
    "केंद्र सरकार ने अगले वित्त वर्ष के बजट में शिक्षा और स्वास्थ्य के लिए अतिरिक्त धनराशि "
    "देने का फैसला किया है। वित्त मंत्री के अनुसार इस कदम से आम लोगों को सीधा लाभ मिलेगा।"
)
ENGLISH = (
    "The federal government has decided to allocate additional funds to education and health "
    "in next year's budget. According to the finance minister, the public will benefit directly."
)


def check_result(result: LanguageResult) -> None:
    """Invariants every result satisfies."""
    assert CODE_RE.match(result.language) or result.language == "und"
    assert SCRIPT_RE.match(result.script)
    assert 0.0 <= result.confidence <= 1.0
    assert all(isinstance(s, LanguageShare) for s in result.shares)
    shares = [s.share for s in result.shares]
    assert shares == sorted(shares, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in shares)
    if shares:
        assert sum(shares) == pytest.approx(1.0, abs=0.01)
    assert result.language not in {"iw", "in", "ji", "jw", "mo", "un"}


@pytest.mark.parametrize(
    ("text", "language", "script"),
    [
        (URDU, "ur", "Arab"),
        (HINDI, "hi", "Deva"),
        (ENGLISH, "en", "Latn"),
        ("دولت اسلامی در عراق و شام در سال‌های گذشته بخش‌های بزرگی از این کشور را تصرف کرد.",
         "fa", "Arab"),
        ("وقالت الحكومة إن المفاوضات ستستمر خلال الأسبوع المقبل في العاصمة.", "ar", "Arab"),
        ("ਸਰਕਾਰ ਨੇ ਕਿਸਾਨਾਂ ਲਈ ਨਵੀਂ ਯੋਜਨਾ ਦਾ ਐਲਾਨ ਕੀਤਾ ਹੈ ਅਤੇ ਇਹ ਅਗਲੇ ਮਹੀਨੇ ਤੋਂ ਲਾਗੂ ਹੋਵੇਗੀ।",
         "pa", "Guru"),
        ("সরকার কৃষকদের জন্য একটি নতুন প্রকল্প ঘোষণা করেছে যা আগামী মাস থেকে চালু হবে।",
         "bn", "Beng"),
        ("הממשלה הודיעה היום על תוכנית חדשה לחקלאים שתיכנס לתוקף בחודש הבא.", "he", "Hebr"),
        ("Правительство объявило о новой программе для фермеров, которая начнёт действовать.",
         "ru", "Cyrl"),
    ],
)  # fmt: skip
def test_main_languages(text: str, language: str, script: str) -> None:
    result = detect_language(text)
    check_result(result)
    assert (result.language, result.script) == (language, script)
    assert result.confidence > 0.5


def test_retired_codes_are_mapped() -> None:
    hebrew = detect_language("הממשלה הודיעה היום על תוכנית חדשה לחקלאים שתיכנס לתוקף בחודש הבא.")
    indonesian = detect_language(
        "Pemerintah mengumumkan program baru untuk para petani yang akan mulai berlaku bulan depan."
    )
    assert hebrew.language == "he"
    assert indonesian.language == "id"


def load_romanised() -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / "romanised_hindustani.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, sentence = line.split("\t", 1)
            rows.append((label, sentence))
    return rows


def test_romanised_hindustani_test_set_is_large_enough() -> None:
    assert len(load_romanised()) >= 30


def test_romanised_hindustani_is_hi_or_ur_in_latin() -> None:
    rows = load_romanised()
    good = 0
    for _label, sentence in rows:
        result = detect_language(sentence)
        check_result(result)
        good += result.language in ("hi", "ur") and result.script == "Latn"
    assert good / len(rows) >= 0.8


def test_romanised_example_from_the_issue() -> None:
    result = detect_language("Pakistan aur Russia ne ittefaq kiya")
    assert result.language in ("hi", "ur")
    assert result.script == "Latn"


def test_romanised_hint_picks_urdu() -> None:
    result = detect_language("Sarkar ne naye budget mein kisanon ke liye elaan kiya", hint="ur")
    assert (result.language, result.script) == ("ur", "Latn")


def test_english_is_not_mistaken_for_romanised_hindustani() -> None:
    for text in (
        ENGLISH,
        "He said the ministers had met in Islamabad on Tuesday to discuss trade.",
        "Kiya Ko, a designer from Hawaii, said the new range would launch in May.",
    ):
        assert detect_language(text).language == "en"


def test_mixed_article_reports_main_language_and_shares() -> None:
    text = "\n\n".join([URDU, URDU.replace("وفاقی", "صوبائی"), ENGLISH])
    result = detect_language(text)
    check_result(result)
    assert result.language == "ur"
    shares = {s.language: s.share for s in result.shares}
    assert set(shares) >= {"ur", "en"}
    assert shares["ur"] > shares["en"] > 0.1


def test_hindi_with_english_names_stays_hindi() -> None:
    result = detect_language("पहली बार Marks & Spencer और ITV ने")
    assert (result.language, result.script) == ("hi", "Deva")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "12345 67.89 !!! ???",
        "\x00\x01\x02\x7f\x85\x9f",
        "\u200b\u200c\u200d\ufeff\u2060",
        URDU.replace(" ", "\u200b "),
        ENGLISH + "\x00\x07\x1b[31m",
        "a\ufffeb\uffff\U0001fffe\U0010ffff",
        b"caf\xe9 \xff\xfe news \xed\xa0\x80".decode("utf-8", "surrogateescape"),
        "\ud800\udfff lone surrogates",
        "😀🎉🇵🇰" * 20,
        "x" * 100_000,
    ],
)
def test_hostile_input_never_crashes(text: str) -> None:
    check_result(detect_language(text))
    assert SCRIPT_RE.match(detect_script(text))


def test_empty_text_is_unknown() -> None:
    result = detect_language("")
    assert (result.language, result.script, result.confidence, result.shares) == (
        "und",
        "Zyyy",
        0.0,
        [],
    )


def test_zero_width_characters_do_not_change_the_answer() -> None:
    assert detect_language(URDU.replace(" ", " \u200b")).language == "ur"
    assert detect_language(HINDI.replace(" ", "\u200d ")).language == "hi"


@pytest.mark.parametrize(
    ("text", "script"),
    [
        (URDU, "Arab"),
        (HINDI, "Deva"),
        (ENGLISH, "Latn"),
        ("ਪੰਜਾਬ", "Guru"),
        ("ગુજરાત", "Gujr"),
        ("বাংলা", "Beng"),
        ("Ελλάδα", "Grek"),
        ("Москва", "Cyrl"),
        ("עברית", "Hebr"),
        ("東京で会議が開かれました", "Jpan"),
        ("北京", "Hani"),
        ("서울", "Hang"),
        ("ภาษาไทย", "Thai"),
        ("1234 !!", "Zyyy"),
    ],
)
def test_detect_script(text: str, script: str) -> None:
    assert detect_script(text) == script


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=400))
def test_property_any_text(text: str) -> None:
    check_result(detect_language(text))
    assert SCRIPT_RE.match(detect_script(text))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_property_any_bytes_via_surrogateescape(data: bytes) -> None:
    check_result(detect_language(data.decode("utf-8", "surrogateescape")))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200), st.sampled_from([None, "ur", "hi", "en", "xx", "iw", "zz-Qaai"]))
def test_property_hints_never_break_it(text: str, hint: str | None) -> None:
    check_result(detect_language(text, hint=hint))


# --------------------------------------------------------------------------- NTREX (shared data)

NTREX_EXPECTED = {
    "eng": "en", "urd": "ur", "hin": "hi", "fas": "fa", "prs": "fa", "pus": "ps", "arb": "ar",
    "snd-Arab": "sd", "pan": "pa", "mar": "mr", "nep": "ne", "ben": "bn", "guj": "gu",
}  # fmt: skip
needs_ntrex = pytest.mark.skipif(
    not NTREX.is_dir(), reason=f"NTREX data not found at {NTREX} (../shared is not checked out)"
)


def ntrex(lang: str) -> list[dict[str, str]]:
    path = NTREX / f"{lang}.jsonl"
    if not path.exists():
        pytest.skip(f"{path} missing")
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.mark.shared_data
@needs_ntrex
def test_ntrex_whole_articles() -> None:
    ok = total = 0
    for lang, expected in NTREX_EXPECTED.items():
        for doc in ntrex(lang):
            ok += detect_language(f"{doc['title']}\n\n{doc['body']}").language == expected
            total += 1
    assert ok / total >= 0.995


@pytest.mark.shared_data
@needs_ntrex
@pytest.mark.parametrize("lang", ["urd", "hin", "eng"])
def test_ntrex_five_word_snippets(lang: str) -> None:
    expected = NTREX_EXPECTED[lang]
    ok = total = 0
    for doc in ntrex(lang):
        words = doc["body"].split()
        for i in range(0, len(words) - 4, 5):
            ok += detect_language(" ".join(words[i : i + 5])).language == expected
            total += 1
    assert total > 1000
    assert ok / total >= 0.97
