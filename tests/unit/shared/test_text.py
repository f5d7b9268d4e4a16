"""Search normalisation: variants meet, invisible characters vanish, and it is idempotent."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.text import balanced_span, clean_control, normalize_char_preserving, normalize_text


@pytest.mark.parametrize(
    ("variant", "standard"),
    [
        ("يمن", "یمن"),  # Arabic yeh → Farsi/Urdu yeh
        ("مصطفى", "مصطفی"),  # alef maksura
        ("كراچی", "کراچی"),  # Arabic kaf
        ("بهارت", "بھارت"),  # Arabic heh used for do-chashmi he
        ("مدينة", "مدینہ"),  # teh marbuta
        ("أحمد", "احمد"),
        ("آصف", "اصف"),
        ("مؤمن", "مومن"),
        ("مُحَمَّد", "محمد"),  # harakat
        ("پاکـــستان", "پاکستان"),  # tatweel
        ("رحمٰن", "رحمن"),  # superscript alef
        ("ज़ेलेंस्की", "जेलेंस्की"),  # nukta
        ("\u095b\u0947\u0932\u0947\u0902\u0938\u094d\u0915\u0940", "जेलेंस्की"),  # precomposed ज़
        ("हँसी", "हंसी"),  # chandrabindu → anusvara
        ("PAKISTAN", "pakistan"),
        ("São Paulo", "sao paulo"),
        ("٢٠٢٤ ۲۰۲۴ २०२४", "2024 2024 2024"),
        ("پاک\u200cستان", "پاکستان"),  # ZWNJ
        ("\ufeffhello\u200b world\u202e", "hello world"),
        ("  many \t\n spaces ", "many spaces"),
    ],
)
def test_variants_fold_to_one_form(variant: str, standard: str) -> None:
    assert normalize_text(variant) == normalize_text(standard)


def test_bari_ye_stays_distinct() -> None:
    assert normalize_text("کے") != normalize_text("کی")


def test_clean_control_keeps_newlines_and_tabs() -> None:
    assert clean_control("a\x00b\tc\r\nd\u200be\u202ef\x85") == "ab\tc\n\ndef"


def test_char_preserving_keeps_length() -> None:
    text = "كراچی PAKISTAN क़ ٢"
    folded = normalize_char_preserving(text)
    assert len(folded) == len(text)
    assert folded.startswith("کراچی pakistan")


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_char_preserving_never_changes_length(text: str) -> None:
    assert len(normalize_char_preserving(text)) == len(text)


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("जनता दल (यूनाइटेड) ने कहा", (0, 17), "जनता दल (यूनाइटेड)"),
        ("WHO ( UN ) said", (0, 8), "WHO ( UN )"),
        ("ILO ( X y ) z", (0, 7), "ILO"),
        ("UN ) and", (0, 8), "UN"),
        ("( )", (0, 3), "( )"),
        (") (", (0, 3), None),
        (") UN", (0, 4), "UN"),
        ("plain name", (0, 10), "plain name"),
    ],
)
def test_balanced_span(text: str, span: tuple[int, int], expected: str | None) -> None:
    bounds = balanced_span(text, *span)
    assert (text[bounds[0] : bounds[1]] if bounds else None) == expected
