"""The shipped vector model: unit vectors, never NaN or empty, and None for text with nothing
to place."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.models import EnrichedArticle
from shared.vectors import (
    StaticEmbedder,
    UnigramTokenizer,
    article_text,
    article_vector,
    as_list,
    model_dims,
)


@pytest.fixture(scope="module")
def model() -> StaticEmbedder:
    return StaticEmbedder.load()


def test_the_record_and_the_rows_agree(model: StaticEmbedder) -> None:
    assert model.dims == model_dims() == model.rows.shape[1]
    assert model.rows.shape[0] == len(model.tokenizer.pieces) == model.scales.shape[0]


@pytest.mark.parametrize(
    "text", ["Floods in Sindh", "سندھ میں سیلاب", "सिंध में बाढ़", "terrorism", "پاکستان"]
)
def test_words_in_each_script_get_a_unit_vector(model: StaticEmbedder, text: str) -> None:
    vector = model.embed(text)
    assert vector is not None and vector.shape == (model.dims,)
    assert math.isclose(float(vector @ vector), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize("text", ["", "   ", "!!! ???", "😀🙏🏽", "12345 ۱۲۳ १२३", "\x00\ufffd"])
def test_text_with_nothing_to_place_gets_no_vector(model: StaticEmbedder, text: str) -> None:
    assert model.embed(text) is None


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_a_vector_is_never_nan_or_empty(model: StaticEmbedder, text: str) -> None:
    vector = model.embed(text)
    if vector is not None:
        assert vector.shape == (model.dims,) and np.isfinite(vector).all()
        assert math.isclose(float(vector @ vector), 1.0, rel_tol=1e-4)
        EnrichedArticle(id="0" * 32, body=text, vector=as_list(vector))  # the contract agrees


def test_the_same_text_always_gets_the_same_vector(model: StaticEmbedder) -> None:
    first = model.embed("لاہور میں بارش")
    model.tokenizer.cache.clear()
    second = model.embed("لاہور میں بارش")
    assert first is not None and second is not None and (first == second).all()


def test_the_contract_refuses_nan_and_empty_vectors() -> None:
    with pytest.raises(ValueError, match="at least 1 item"):
        EnrichedArticle(id="0" * 32, body="x", vector=[])
    for bad in ([float("nan"), 0.1], [float("inf")]):
        with pytest.raises(ValueError, match="finite number"):
            EnrichedArticle(id="0" * 32, body="x", vector=bad)
    # nor in JSON, where pydantic alone would read the string "NaN" (found by make fuzz)
    with pytest.raises(ValueError, match="finite number"):
        EnrichedArticle.model_validate_json(
            '{"id": "%s", "body": "x", "timings_ms": {"clean": "NaN"}}' % ("0" * 32)
        )


def test_the_tokeniser_finds_the_best_segmentation() -> None:
    pieces = ["▁", "▁ab", "▁a", "b", "c", "▁abc"]
    tokenizer = UnigramTokenizer(pieces, [-5.0, -1.0, -2.0, -2.0, -3.0, -0.5], {})
    assert [pieces[i] for i in tokenizer.encode("abc ab a")] == ["▁abc", "▁ab", "▁a"]
    assert [pieces[i] for i in tokenizer.encode("abz")] == ["▁ab"]  # unknown characters drop


def test_the_article_text_is_the_headline_and_a_lead_cut_at_a_word() -> None:
    body = "word " * 300
    text = article_text("Headline", body, lead_chars=50)
    assert text.startswith("Headline\n") and len(text) <= len("Headline\n") + 50
    assert not text.endswith("wor")
    assert article_text(None, "short body") == "short body"


@settings(max_examples=100, deadline=None)
@given(title=st.one_of(st.none(), st.text(max_size=80)), body=st.text(max_size=400))
def test_an_article_vector_is_a_unit_vector_or_none(
    model: StaticEmbedder, title: str | None, body: str
) -> None:
    vector = article_vector(model, title, body)
    if vector is not None:
        assert np.isfinite(vector).all()
        assert math.isclose(float(vector @ vector), 1.0, rel_tol=1e-4)


def test_an_article_vector_leans_on_its_headline(model: StaticEmbedder) -> None:
    body = "The selectors named the squad for the tour. " * 20
    vector = article_vector(model, "Floods in Sindh", body)
    headline, lead = model.embed("Floods in Sindh"), model.embed(article_text(None, body))
    assert vector is not None and headline is not None and lead is not None
    assert float(vector @ headline) > float(lead @ headline)
    assert article_vector(model, None, "!!!") is None


@pytest.mark.parametrize(
    ("query", "placeable"),
    [
        ("flood", True),
        ("Nabil Munir", True),
        ("پاکستان روس", True),
        ("आतंकवादियों", True),
        ("fe99ba2ca2b5", False),
        ("xl-e3ceb66b", False),
        ("Flood warning zq0123456789", True),
        ("", False),
    ],
)
def test_ids_and_codes_are_not_placed_by_meaning(
    model: StaticEmbedder, query: str, placeable: bool
) -> None:
    assert model.placeable(query) is placeable
