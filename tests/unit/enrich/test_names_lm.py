"""Character evidence that a word is a name (services/enrich/ner/names_lm.py)."""

from __future__ import annotations

import gzip
import itertools
import json
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from services.enrich.ner.features import FeatureExtractor
from services.enrich.ner.names_lm import BUCKET_BOUNDS, CharModel, NameEvidence
from services.enrich.ner.tagger import load_evidence

# Written for this test: surnames of one family of spellings against everyday English words.
NAMES = ["ivanov", "petrov", "lavrov", "smirnova", "volkov", "sokolov", "popov", "kozlov"]
WORDS = ["the", "and", "said", "that", "with", "talks", "minister", "today", "would", "there"]
EVIDENCE = NameEvidence.train(NAMES, WORDS)


def test_a_word_spelt_like_the_names_scores_above_one_spelt_like_the_words() -> None:
    assert EVIDENCE.score("morozov") > 0 > EVIDENCE.score("these")
    assert EVIDENCE.score("morozov") > EVIDENCE.score("minister")
    assert int(EVIDENCE.bucket("morozov")) > int(EVIDENCE.bucket("these"))


def test_the_probabilities_of_every_short_word_sum_to_at_most_one() -> None:
    """A proper model over words: summed over every word of up to four letters of a small
    alphabet, the probability mass stays under 1 and most of it is there."""
    model = CharModel.train(["ab", "ba", "aab", "b"])
    mass = 0.0
    for length in range(5):
        for letters in itertools.product("ab", repeat=length):
            word = "".join(letters)
            mass += math.exp(model.log_prob(word) * (len(word) + 1))
    assert 0.5 < mass <= 1.0 + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_any_word_has_a_finite_score_and_a_bucket(word: str) -> None:
    score = EVIDENCE.score(word)
    assert math.isfinite(score)
    assert 0 <= int(EVIDENCE.bucket(word)) <= len(BUCKET_BOUNDS)


def test_saved_evidence_loads_with_the_same_scores(tmp_path: Path) -> None:
    payload = json.dumps(EVIDENCE.to_json(), ensure_ascii=False).encode("utf-8")
    (tmp_path / "xx.names.json.gz").write_bytes(gzip.compress(payload))
    loaded = load_evidence(tmp_path, "xx.names.json.gz")  # type: ignore[arg-type]
    assert loaded is not None
    for word in ["morozov", "these", "", "x"]:
        assert loaded.score(word) == EVIDENCE.score(word)
    assert load_evidence(tmp_path, "yy.names.json.gz") is None  # type: ignore[arg-type]


def test_the_tagger_features_carry_the_bucket_for_the_word_and_its_neighbours() -> None:
    plain = FeatureExtractor()
    with_names = FeatureExtractor(name_evidence=EVIDENCE)
    _, own, before, after, *_ = with_names.word_features("Morozov")
    assert "nm=" + EVIDENCE.bucket("morozov") in own
    assert any(f.startswith("-1nm=") for f in before) and any(f.startswith("+1nm=") for f in after)
    assert not any("nm=" in f for f in plain.word_features("Morozov")[1])
    assert not any("nm=" in f for f in with_names.word_features("2024")[1])
