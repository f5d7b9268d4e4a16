"""Character evidence that a word is a person's name: two character n-gram models compared.

A transliterated foreign name (ریابکوف, रियाबकोव) or an unfamiliar native one is a word the
tagger's training text never holds, so its word, list and frequency features say nothing; its
letters still do. One model is trained on the words of the training text's persons, one on its
words outside any name, and a word's evidence is how much likelier the first finds it, per
letter (a log-likelihood ratio, :meth:`NameEvidence.score`). Trained on IL-NER train, over the
dev words train holds at most once, that ratio ranks a person's word above an ordinary one 0.87
(Hindi) and 0.92 (Urdu) of the time (ROC AUC; 0.95 / 0.96 over words seen under 20 times).

The tagger gets the ratio as a bucket (``nm=``, :meth:`NameEvidence.bucket`) on the word and its
neighbours; ``tools/train_ner.py`` jackknifes it like the name lists, so the model learns how
far it generalises to words it did not count. Both models are Witten–Bell interpolated
character n-grams of order :data:`ORDER` over the word between boundary marks; they ship as
their n-gram counts (``{lang}.names.json.gz``, :meth:`NameEvidence.to_json`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

#: Longest n-gram counted: three letters of context.
ORDER = 4
_START = "\x02"
_END = "\x03"
#: Where the evidence buckets change (per-letter log-likelihood ratio, names over other words).
BUCKET_BOUNDS = (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)


class CharModel:
    """A Witten–Bell interpolated character n-gram model, from its n-gram counts.

    ``counts`` holds every n-gram of length 1 to ``order`` of the padded training words
    (:func:`ngram_counts`); the probability of a letter interpolates every context length down
    to the unigram and then a uniform floor over the alphabet seen plus one.
    """

    def __init__(self, counts: Mapping[str, int], order: int = ORDER) -> None:
        self.order = order
        self._counts = dict(counts)
        self._totals: Counter[str] = Counter()  # context -> count of the n-grams extending it
        self._types: Counter[str] = Counter()  # context -> letters seen after it
        for gram, count in self._counts.items():
            context = gram[:-1]
            self._totals[context] += count
            self._types[context] += 1
        self._floor = 1.0 / (self._types[""] + 1)

    @classmethod
    def train(cls, words: Iterable[str], order: int = ORDER) -> CharModel:
        """The model of ``words``."""
        return cls(ngram_counts(words, order), order)

    @property
    def counts(self) -> dict[str, int]:
        """The n-gram counts it was built from (what is saved)."""
        return self._counts

    def log_prob(self, word: str) -> float:
        """The natural-log probability of ``word`` per symbol (its letters and the end mark)."""
        padded = _START * (self.order - 1) + word + _END
        total = 0.0
        counts, totals, types = self._counts, self._totals, self._types
        for i in range(self.order - 1, len(padded)):
            letter = padded[i]
            p = self._floor
            for length in range(0, self.order):  # context length 0 (unigram) upwards
                context = padded[i - length : i]
                seen = totals.get(context)
                if not seen:
                    break
                distinct = types[context]
                p = (counts.get(context + letter, 0) + distinct * p) / (seen + distinct)
            total += math.log(p)
        return total / (len(padded) - self.order + 1)


def ngram_counts(words: Iterable[str], order: int = ORDER) -> dict[str, int]:
    """Every n-gram of length 1 to ``order`` of each word padded with boundary marks."""
    counts: Counter[str] = Counter()
    for word in words:
        padded = _START * (order - 1) + word + _END
        for i in range(order - 1, len(padded)):
            for length in range(1, order + 1):
                counts[padded[i - length + 1 : i + 1]] += 1
    return dict(counts)


class NameEvidence:
    """How much more a word looks like a person's name than like an ordinary word."""

    def __init__(self, names: CharModel, words: CharModel) -> None:
        self.names = names
        self.words = words

    @classmethod
    def train(cls, names: Iterable[str], words: Iterable[str]) -> NameEvidence:
        """From the words of persons' names and the words outside any name."""
        return cls(CharModel.train(names), CharModel.train(words))

    def score(self, word: str) -> float:
        """The per-letter log-likelihood ratio: above 0, the names' model finds it likelier."""
        return self.names.log_prob(word) - self.words.log_prob(word)

    def bucket(self, word: str) -> str:
        """:meth:`score` as one of ``len(BUCKET_BOUNDS) + 1`` buckets, ``"0"`` least name-like."""
        return str(bisect_right(BUCKET_BOUNDS, self.score(word)))

    def to_json(self) -> dict[str, Any]:
        """What :meth:`from_json` reads."""
        return {"order": self.names.order, "names": self.names.counts, "words": self.words.counts}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NameEvidence:
        order = int(data["order"])
        return cls(CharModel(data["names"], order), CharModel(data["words"], order))
