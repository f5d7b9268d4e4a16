"""Tests for the bundled Hindi/Urdu/English named-entity tagger (services.enrich.ner).

The bundled-model tests need nothing outside the repository; the corpus test skips when the
shared IL-NER data is absent.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.enrich.ner import NerSpan, NerTagger
from services.enrich.ner.corpus import clean_tags, read_split, to_bio
from services.enrich.ner.features import FeatureExtractor, gazetteer_tags
from services.enrich.ner.tagger import model_dir, training_record
from services.enrich.ner.tokenize import _ABBREVIATIONS, MAX_SENTENCE_TOKENS, sentences, tokenize
from tests.unit.enrich.strategies import mixed_script_text

IL_NER = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "il-ner"


@pytest.fixture(scope="module")
def tagger() -> NerTagger:
    return NerTagger.load()


def _check_offsets(text: str, spans: list[NerSpan]) -> None:
    for span in spans:
        assert text[span.start : span.end] == span.text
        assert span.type in {"PER", "ORG", "LOC"}
        assert 0.0 <= span.score <= 1.0
        assert span.text.strip() == span.text and span.text


def _found(spans: list[NerSpan]) -> set[tuple[str, str]]:
    return {(s.text, s.type) for s in spans}


def test_load_is_shared_and_lists_languages() -> None:
    assert NerTagger.load() is NerTagger.load()
    assert NerTagger.load().languages() == frozenset({"hi", "ur", "en"})


def test_hindi_person_and_place(tagger: NerTagger) -> None:
    text = "प्रधानमंत्री नरेंद्र मोदी ने आज दिल्ली में एक बैठक की।"
    spans = tagger.tag(text, "hi")
    _check_offsets(text, spans)
    assert ("नरेंद्र मोदी", "PER") in _found(spans)
    assert ("दिल्ली", "LOC") in _found(spans)


def test_urdu_person_and_place(tagger: NerTagger) -> None:
    text = "وزیر اعظم عمران خان نے لاہور میں خطاب کیا۔"
    spans = tagger.tag(text, "ur")
    _check_offsets(text, spans)
    assert ("عمران خان", "PER") in _found(spans)
    assert ("لاہور", "LOC") in _found(spans)


def test_english_candidates(tagger: NerTagger) -> None:
    text = (
        "Prime Minister Shehbaz Sharif met Mr. Joe Biden in Washington on Monday, "
        "and the Ministry of Foreign Affairs said so."
    )
    spans = tagger.tag(text, "en")
    _check_offsets(text, spans)
    found = _found(spans)
    assert ("Shehbaz Sharif", "PER") in found
    assert ("Joe Biden", "PER") in found
    assert ("Washington", "LOC") in found
    assert ("Ministry of Foreign Affairs", "ORG") in found
    assert not any(s.text in {"Monday", "Prime Minister"} for s in spans)


def test_english_sentence_initial_words_and_following_place_cues(tagger: NerTagger) -> None:
    text = (
        "Trade between the two countries was suspended. Talks at the Torkham border resumed. "
        "Asif spoke first. Officials said Asif would travel again."
    )
    found = [(s.text, s.type) for s in tagger.tag(text, "en")]
    assert not any(surface == "Officials" for surface, _ in found)
    # capitalised only because it starts a sentence: no name
    assert not any(surface == "Trade" for surface, _ in found)
    # a lowercase place word after the run types it
    assert ("Torkham", "LOC") in found
    # the last word types a run: an organisation, an airport
    text2 = "Amnesty International criticised the delay at Islamabad International Airport."
    found2 = _found(tagger.tag(text2, "en"))
    assert ("Amnesty International", "ORG") in found2
    assert ("Islamabad International Airport", "LOC") in found2
    assert not tagger.tag("Our Standards: the principles.", "en")
    # two names joined by "and" are two names; an organisation's "and" stays inside it
    found3 = _found(
        tagger.tag(
            "Jordan Spieth and Justin Thomas won. The Ministry of Law and Justice met.", "en"
        )
    )
    assert {("Jordan Spieth", "PER"), ("Justin Thomas", "PER")} <= found3
    assert ("Ministry of Law and Justice", "ORG") in found3
    # shouted text is no name, and an adverb after a sentence end is not "mid-sentence"
    assert not tagger.tag("He wrote: THANK YOU FOR STANDING UP TO THE MOB", "en")
    assert not tagger.tag("It rained. Sadly the match was off.", "en")
    # a sentence-initial surname the text writes after a first name is kept
    found4 = _found(tagger.tag("Officials met Mike Pompeo on Monday. Pompeo left.", "en"))
    assert ("Pompeo", "PER") in found4
    # the person is what follows the last title; numbered things and handles are no names
    found5 = _found(
        tagger.tag(
            "Punjab Information Minister Azma Bokhari and Barrister Gohar Khan spoke under"
            " Section 144, said @ExampleNews.",
            "en",
        )
    )
    assert {("Azma Bokhari", "PER"), ("Gohar Khan", "PER")} <= found5
    assert not any(surface in {"Section", "ExampleNews"} for surface, _ in found5)
    # a sentence-initial name the text also capitalises mid-sentence is kept
    assert sum(surface == "Asif" for surface, _ in found) == 2


def test_offsets_survive_odd_whitespace_and_prefix(tagger: NerTagger) -> None:
    text = "\u200b\n\n  ابتدائیہ\t\r\n" + "وزیر اعظم عمران خان نے لاہور میں خطاب کیا۔  "
    _check_offsets(text, tagger.tag(text, "ur"))


@pytest.mark.parametrize("language", ["hi", "ur", "en", "HI", "ur-PK"])
@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n\t",
        "\x00\x01\x02\x7f",
        "\u200b\u200c\u200d\ufeff\u2060",
        "।।।۔۔۔???",
        "\u093c\u0652 \u0901",  # bare combining marks
        "मोदी Modi مودی 123 ۱۲۳ १२३ 😀 \ud800"[:-1],
        "a" * 10_000,
        "राम " * 2_000,
        "،" * 500 + "لاہور",
    ],
)
def test_odd_input_never_crashes(tagger: NerTagger, text: str, language: str) -> None:
    spans = tagger.tag(text, language)
    assert isinstance(spans, list)
    _check_offsets(text, spans)


def test_unsupported_language_returns_empty(tagger: NerTagger) -> None:
    assert tagger.tag("Le président Macron est à Paris.", "fr") == []
    assert tagger.tag("مودی", "") == []
    assert tagger.tag("مودی", "xx") == []


def test_tokenizer_offsets_and_punctuation() -> None:
    text = "नरेंद्र मोदी ने कहा, 1,200 रुपये। عمران خان، لاہور۔ India's (BJP)"
    tokens = [text[s:e] for s, e in tokenize(text)]
    assert tokens == [
        "नरेंद्र", "मोदी", "ने", "कहा", ",", "1,200", "रुपये", "।",
        "عمران", "خان", "،", "لاہور", "۔", "India", "'", "s", "(", "BJP", ")",
    ]  # fmt: skip
    assert [len(s) for s in sentences(text)] == [8, 5, 6]


def _plain_class(categories: tuple[str, ...], extra: str) -> str:
    """The obvious one-piece class over U+0000..U+1FFFF (slow in ``re``, but plainly right)."""
    return (
        "["
        + "".join(
            re.escape(chr(code))
            for code in range(0x20000)
            if unicodedata.category(chr(code)).startswith(categories) or chr(code) in extra
        )
        + "]"
    )


_WORD = _plain_class(("L", "M", "N"), "\u200c\u200d")
_SKIP = _plain_class(("Z", "C"), "\t\n\r\x0b\x0c")
_REFERENCE_TOKEN_RE = re.compile(
    rf"\d+(?:[.,:/٫٬]\d+)+(?!{_WORD})|{_WORD}+|(?!{_SKIP}).", re.DOTALL
)
_MIXED_TEXT = mixed_script_text(" .,\n\u200c\u200d0123456789")


@settings(max_examples=400, deadline=None)
@given(_MIXED_TEXT)
def test_tokenizer_matches_the_plain_definition(text: str) -> None:
    """The tokeniser's split BMP/astral classes accept exactly what one plain class would."""
    assert tokenize(text) == [m.span() for m in _REFERENCE_TOKEN_RE.finditer(text)]


def test_long_text_is_split_into_short_sentences() -> None:
    text = "शब्द " * (3 * MAX_SENTENCE_TOKENS + 5)
    assert max(len(s) for s in sentences(text)) <= MAX_SENTENCE_TOKENS


def test_clean_tags_repairs_malformed() -> None:
    raw = ["B-NEP", "I-NEP", "-NEP", "-", "-NEL", "-NEL", "I-NEO", "B-NEN", "", "B-NEU"]
    assert clean_tags(raw) == [
        "B-PER", "I-PER", "I-PER", "O", "B-LOC", "I-LOC", "B-ORG", "O", "O", "O",
    ]  # fmt: skip


@pytest.mark.shared_data
@pytest.mark.skipif(not IL_NER.exists(), reason=f"IL-NER corpus not found at {IL_NER}")
def test_corpus_round_trip() -> None:
    sents = read_split(IL_NER, "ur", "dev")
    assert len(sents) > 1000
    for sent in sents[:300]:
        for start, end, _ in sent.spans:
            assert sent.text[start:end].strip() == sent.text[start:end]
        words, labels = to_bio(sent)
        assert len(words) == len(labels)
        assert sum(label.startswith("B-") for label in labels) == len(sent.spans)


def test_gazetteer_tags_longest_match_first() -> None:
    gaz = {"नई दिल्ली": "LOC:city", "दिल्ली": "LOC:city", "भाजपा": "ORG:party"}
    extractor = FeatureExtractor(gazetteer=gaz)
    words = ["नई", "दिल्ली", "में", "भाजपा", "दिल्ली"]
    assert gazetteer_tags(words, gaz, {"नई": 2, "दिल्ली": 1, "भाजपा": 1}) == [
        "B-LOC:city", "I-LOC:city", "", "B-ORG:party", "B-LOC:city",
    ]  # fmt: skip
    feats = extractor.sentence_features(words)
    assert "g=B-LOC:city" in feats[0] and "g=I-LOC:city" in feats[1]
    assert "+1gt=B-ORG" in feats[2] and "-1gt=I-LOC" in feats[2]
    assert not any(f.startswith("g=") for f in feats[2])
    # a sentence end between "नई" and "दिल्ली" stops the two-word match; each matches alone
    first_len = {"नई": 2, "दिल्ली": 1, "भाजपा": 1}
    assert gazetteer_tags(words, gaz, first_len, stops=[1, 5, 5, 5, 5]) == [
        "", "B-LOC:city", "", "B-ORG:party", "B-LOC:city",
    ]  # fmt: skip
    assert extractor.gazetteer(words, [1, 5, 5, 5, 5]) == gazetteer_tags(
        words, gaz, first_len, stops=[1, 5, 5, 5, 5]
    )


def test_cluster_and_list_features() -> None:
    extractor = FeatureExtractor(clusters={"मोदी": "1e3"}, word_lists={"मोदी": "per"})
    feats = extractor.sentence_features(["मोदी", "अनजाना"])
    assert {"c1=1", "c2=1e", "c3=1e3", "L=per"} <= set(feats[0])
    assert "+1c3=1e3" not in feats[1] and "-1c3=1e3" in feats[1] and "-1L=per" in feats[1]
    assert "c=?" in feats[1]
    # Without tables the features are exactly the frequency-only ones older models expect.
    plain = FeatureExtractor().sentence_features(["मोदी"])[0]
    assert not any(f.startswith(("c", "L=", "g=", "gt=")) for f in plain)


def test_cross_script_features_share_the_skeleton() -> None:
    extractor = FeatureExtractor(cross_script=True)
    hindi = extractor.sentence_features(["नरेंद्र", "मोदी"])
    urdu = extractor.sentence_features(["نریندر", "مودی"])
    for feats in (hindi, urdu):
        assert {"k=nrndr", "kp2=nr", "ks2=dr", "+1k=md"} <= set(feats[0])
        assert {"k=md", "-1k=nrndr"} <= set(feats[1])
    # the script-specific features stay apart
    assert "w=नरेंद्र" in hindi[0] and "w=نریندر" in urdu[0]
    assert not any(
        f.startswith(("k=", "+1k="))
        for f in FeatureExtractor().sentence_features(["नरेंद्र", "मोदी"])[0]
    )
    # numbers and punctuation have no skeleton
    assert not any(f.startswith("k=") for f in extractor.sentence_features(["2024", "।"])[0])


@pytest.mark.parametrize("language", ["hi", "ur"])
def test_bundled_models_get_the_feature_switches_they_were_trained_with(language: str) -> None:
    """The tagger reads the switches from training.json; a mismatch would silently drop weights."""
    model = NerTagger()._model(language)
    switches = training_record(model_dir(), language)
    assert switches["splits"]  # the bundled models carry their record
    assert bool(model.crf.prefixed("k=")) == switches.get("cross_script", False)
    features = model.features.sentence_features(["نریندر" if language == "ur" else "नरेंद्र"])
    assert any(f.startswith("k=") for f in features[0]) == switches.get("cross_script", False)


def test_bio_decoding_never_joins_across_a_sentence_or_a_gap() -> None:
    from services.enrich.ner.tagger import _decode

    text = "a b c d e f"
    spans = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)]
    labels = ["B-PER", "I-PER", "I-PER", "O", "I-LOC", "I-LOC"]
    probs = [0.9, 0.8, 0.7, 1.0, 0.6, 0.5]
    # one sentence: "a b c" is one person; the stray I-LOC after O starts a place "e f"
    found = _decode(text, spans, labels, probs)
    assert [(s.text, s.type, s.score) for s in found] == [
        ("a b c", "PER", 0.8),
        ("e f", "LOC", 0.55),
    ]
    # a sentence starting at "c" splits the person; at "f" splits the place
    found = _decode(text, spans, labels, probs, frozenset({0, 2, 5}))
    assert [s.text for s in found] == ["a b", "c", "e", "f"]


def test_decoded_spans_do_not_start_or_end_with_punctuation() -> None:
    from services.enrich.ner.tagger import _decode

    text = "यू .एस , जी"
    spans = [(0, 2), (3, 6), (7, 8), (9, 11)]
    found = _decode(text, spans, ["B-LOC", "B-ORG", "I-ORG", "B-PER"], [0.9] * 4)
    assert [(s.text, s.type) for s in found] == [("यू", "LOC"), ("एस", "ORG"), ("जी", "PER")]


def test_decoded_spans_have_balanced_brackets() -> None:
    from services.enrich.ner.tagger import _decode

    text = "WHO ( UN ) and ILO ( X y ) z"
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    words = text.split()

    def decode(labelled: dict[int, str]) -> list[str]:
        labels = [labelled.get(k, "O") for k in range(len(words))]
        return [s.text for s in _decode(text, spans, labels, [0.9] * len(words))]

    # an open bracket takes the ")" right after the span
    assert decode({0: "B-ORG", 1: "I-ORG", 2: "I-ORG"}) == ["WHO ( UN )"]
    # one that closes further away is cut off, and so is a ")" opened before the span
    assert decode({5: "B-ORG", 6: "I-ORG", 7: "I-ORG"}) == ["ILO"]
    assert decode({2: "B-ORG", 3: "I-ORG", 4: "I-ORG"}) == ["UN"]
    # a span that is only brackets is dropped
    assert decode({1: "B-ORG"}) == []


_REFERENCE_NEWLINE = re.compile(r"[\n\r\u2028\u2029\x85]")


def _reference_sentences(text: str) -> list[list[tuple[int, int]]]:
    """The sentence splitter as first written: one step per token."""
    result: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    prev_end = 0
    for start, end in tokenize(text):
        if current and _REFERENCE_NEWLINE.search(text, prev_end, start):
            result.append(current)
            current = []
        current.append((start, end))
        prev_end = end
        abbreviation = False
        if len(current) >= 2 and text[current[-1][0]] == "." and current[-2][1] == current[-1][0]:
            word = text[current[-2][0] : current[-2][1]]
            abbreviation = (
                word in _ABBREVIATIONS
                or (len(word) == 1 and word.isupper())
                or (len(word) <= 3 and "\u0900" <= word[0] <= "\u097f")
            )
        if (end - start == 1 and text[start] in ".?!।॥۔؟" and not abbreviation) or len(
            current
        ) >= MAX_SENTENCE_TOKENS:
            result.append(current)
            current = []
    if current:
        result.append(current)
    return result


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "राम",
                "Mr",
                "Dr",
                "A",
                "डॉ",
                "word",
                "3.5",
                "1,200",
                "کراچی",
                " ",
                "  ",
                "\n",
                "\r\n",
                "\u2028",
                ".",
                "?",
                "!",
                "।",
                "॥",
                "۔",
                "؟",
                ",",
                "\n.",
                ". ",
                "x" * 3,
            ]
        ),
        max_size=260,
    ).map("".join)
)
def test_sentences_match_the_per_token_definition(text: str) -> None:
    """Visiting only sentence ends and line breaks splits exactly as a walk over every token
    (long runs included: up to 260 pieces cross the 80-token cut several times)."""
    assert sentences(text) == _reference_sentences(text)
