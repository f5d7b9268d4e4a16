"""The enrichment's fast paths give exactly the answers of the plain definitions they replace.

Compiled scans (tokenisation, knowledge-base word runs), Aho-Corasick matching and the gazetteer
filters are checked against the regex and n-gram versions on every BMP character in context, on
random text and on the bundled models.
"""

from __future__ import annotations

import random
from bisect import bisect_left

import numpy as np
import pytest
from hypothesis import given, settings

from services.enrich.ner import NerTagger
from services.enrich.ner.features import gazetteer_prefixes, gazetteer_tags
from services.enrich.ner.tokenize import (
    _NEWLINE_RE,
    sentence_starts,
    tokenize,
    tokenize_words,
    word_runs,
)
from shared import kb as kb_module
from shared.kb import KnowledgeBase
from shared.text import has_astral
from tests.unit.enrich.strategies import mixed_script_text

#: Every BMP character between letters, digits, digit separators, spaces and line breaks.
EVERY_CHAR = "".join(
    "a" + c + "1" + c + "2 " + c + c + "x\n" + c + "3.4" + c for c in map(chr, range(0x10000))
)
_ALPHABET = (
    "ab1234567890.,:/٫٬ \n\r\u2028\x85\t-xक्ष०१۔؟!?\u200c\u200d\u00ad\u0301'\"()"
    "Pakistan پاکستان भारत India UN"
)


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    extra = "".join(chr(rng.randrange(0x10000)) for _ in range(60))
    alphabet = _ALPHABET + extra
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(count)]


def _check_tokens(text: str) -> None:
    starts, ends, words, breaks = tokenize_words(text)
    spans = tokenize(text)
    assert list(zip(starts, ends, strict=True)) == spans
    assert words == [text[s:e] for s, e in spans]
    expected = sorted(
        {
            i
            for m in _NEWLINE_RE.finditer(text)
            if 0 < (i := bisect_left(starts, m.start())) < len(starts)
        }
    )
    if breaks is not None:
        assert breaks == expected
    assert sentence_starts(text, starts, ends, words, breaks) == sentence_starts(text, starts, ends)


def test_compiled_tokenizer_matches_the_regex_on_every_bmp_character() -> None:
    _check_tokens(EVERY_CHAR)
    for text in _random_texts(3000, seed=5):
        _check_tokens(text)


def test_astral_text_takes_the_regex_path() -> None:
    text = "x\U0001f600 1,200 ok\n𝐀b ۔"
    assert tokenize_words(text).breaks is None
    _check_tokens(text)


@settings(max_examples=200, deadline=None)
@given(mixed_script_text(" .,:/٫٬\n\u200c\u200d\u00ad0123456789۔।"))
def test_compiled_tokenizer_matches_the_regex_on_mixed_text(text: str) -> None:
    _check_tokens(text)


def test_word_runs_are_the_knowledge_base_tokens() -> None:
    for text in [EVERY_CHAR, *_random_texts(3000, seed=9)]:
        runs = word_runs(text)
        assert runs is not None
        starts, ends, words = runs
        assert list(zip(starts, ends, words, strict=True)) == kb_module.tokenize(text)
    assert word_runs("x\U0001f600") is None


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def _ngram_mentions(kb: KnowledgeBase, text: str) -> list[kb_module.GazetteerHit]:
    pieces = kb_module._pieces(text)
    return kb._find_by_ngrams(text, pieces, [kb._normalized(t) for t in pieces[1::2]])


def test_aho_corasick_matcher_matches_the_ngram_matcher(kb: KnowledgeBase) -> None:
    texts = [
        "Pakistan and India (PTI) met in New Delhi; پاکستان اور بھارت، नई दिल्ली में भारत।",
        "The UN and the un, Nice and nice, Hyderabad, Sindh and Hyderabad, Telangana.",
        "جنتا دل (یونائیٹڈ) और जनता दल (यूनाइटेड) ﷺ نئی دہلی",  # ﷺ normalises to four words
        *_random_texts(2000, seed=11),
    ]
    for text in texts:
        expected = _ngram_mentions(kb, text)
        assert kb.find_mentions(text) == expected
        assert kb.find_mentions(text, word_runs(text)) == expected


@settings(max_examples=200, deadline=None)
@given(mixed_script_text(" .,:/٫٬\n\u200c\u200d\u00ad0123456789۔।"))
def test_aho_corasick_matcher_matches_on_mixed_text(text: str) -> None:
    kb = KnowledgeBase.load()
    expected = _ngram_mentions(kb, text)
    assert kb.find_mentions(text) == expected
    assert kb.find_mentions(text, word_runs(text)) == expected


def test_has_astral() -> None:
    assert not has_astral("")
    assert not has_astral("abc")
    assert not has_astral("पाकिस्तान \uffff \ud83d")  # a lone surrogate is not astral
    assert has_astral("x\U0001f600")
    assert has_astral("\U00010000")


def _gazetteer_words(language: str, seed: int) -> tuple[list[str], random.Random]:
    """Words of the gazetteer's n-grams, and whole n-grams, and common words, to draw from."""
    features = NerTagger.load()._model(language).features
    keys = list(features._gazetteer)
    vocabulary = [w for key in keys for w in key.split(" ")]
    return vocabulary + keys[::3] + ["کے", "میں", "और", "के", "x", "1"], random.Random(seed)


@pytest.mark.parametrize("language", ["hi", "ur"])
def test_gazetteer_prefix_search_matches_the_plain_search(language: str) -> None:
    features = NerTagger.load()._model(language).features
    gazetteer, first_len = features._gazetteer, features._first_len
    prefixes = gazetteer_prefixes(gazetteer)
    vocabulary, rng = _gazetteer_words(language, seed=13)
    for _ in range(500):
        words = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 40))).split(" ")
        cut = rng.randint(0, len(words))
        stops = [cut] * cut + [len(words)] * (len(words) - cut)
        plain = gazetteer_tags(words, gazetteer, first_len, stops)
        assert gazetteer_tags(words, gazetteer, first_len, stops, prefixes=prefixes) == plain


@pytest.mark.parametrize("language", ["hi", "ur"])
def test_gazetteer_candidate_filter_changes_no_score(language: str) -> None:
    model = NerTagger.load()._model(language)
    vocabulary, rng = _gazetteer_words(language, seed=17)
    for _ in range(100):
        text = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 120)))
        text = text.replace(" x ", " ۔\n ").replace(" 1 ", " । ")
        starts, ends, words, breaks = tokenize_words(text)
        bounds = np.array(sentence_starts(text, starts, ends, words, breaks), dtype=np.int64)
        filtered = model.emissions(words, bounds)
        model._pair_filter = False
        try:
            plain = model.emissions(words, bounds)
        finally:
            model._pair_filter = True
        assert np.array_equal(filtered, plain)


def test_the_gazetteer_samples_hold_matches() -> None:
    """The random texts above do exercise multi-word matches (else they would prove little)."""
    features = NerTagger.load()._model("ur").features
    vocabulary, rng = _gazetteer_words("ur", seed=13)
    tags = [
        tag
        for _ in range(200)
        for tag in features.gazetteer(
            " ".join(rng.choice(vocabulary) for _ in range(30)).split(" ")
        )
    ]
    assert any(tag.startswith("I-") for tag in tags)
