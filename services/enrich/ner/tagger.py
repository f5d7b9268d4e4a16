"""Named-entity tagger for Hindi, Urdu and English news text: the enrich stage's entry point.

Hindi and Urdu use linear-chain CRFs (CRFsuite) trained by ``tools/train_ner.py`` on IL-NER
(CC BY 4.0, see NOTICE) and shipped in ``models/``; nothing is downloaded at run time.  They are
decoded by :mod:`.crf` (same answers as CRFsuite, several times faster).  English has
no training corpus here, so :mod:`.english` proposes capitalised-name candidates with cue-word
typing and deliberately lower scores; the enrich stage's knowledge-base matcher complements it.

``tag`` takes raw running text, so this module owns tokenisation (offsets are never lost: every
span satisfies ``text[span.start:span.end] == span.text``), sentence splitting (short CRF
sequences keep tagging linear and fast) and decoding of BIO labels into scored spans.  A span's
score is the CRF marginal probability of its labels averaged over its tokens.

A :class:`NerTagger` keeps per-word score tables that grow as it reads, which is not thread-safe:
use one instance per thread (``NerTagger.load()`` returns a shared instance for the common
single-threaded worker).
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pycrfsuite
from numba import njit

from shared.text import balanced_span

from . import english
from .crf import CompiledCrf, Floats, Ints, decode
from .features import FeatureExtractor
from .tokenize import sentences, tokenize

__all__ = ["CRF_LANGUAGES", "EntityType", "NerSpan", "NerTagger", "model_dir", "training_record"]

EntityType = Literal["PER", "ORG", "LOC"]
_Array = TypeVar("_Array", Floats, Ints)
CRF_LANGUAGES = frozenset({"hi", "ur"})
_ALL_LANGUAGES = CRF_LANGUAGES | {"en"}
_ENTITY_TYPES: frozenset[str] = frozenset({"PER", "ORG", "LOC"})
_EDGE_PUNCTUATION = frozenset(".,;:-–—/|'\"“”‘’ \t\n")
# Posterior decoding threshold, tuned on the dev splits (0.6-0.8 all gave the same dev F1).
O_THRESHOLD = 0.7
# Distinct words whose label scores a model keeps (~0.5 KB each) before starting afresh.
_MAX_WORDS = 200_000


@dataclass(frozen=True, slots=True)
class NerSpan:
    """One entity mention: character offsets into the tagged text, type and confidence."""

    start: int
    end: int
    type: EntityType
    score: float
    text: str


def model_dir() -> resources.abc.Traversable:
    """Directory holding the bundled models and lookup tables."""
    return resources.files(__package__).joinpath("models")


def load_lookup(directory: resources.abc.Traversable, name: str) -> dict[str, str]:
    """Load a ``word -> value`` table (``.json.gz``); missing file -> empty table."""
    path = directory.joinpath(name)
    if not path.is_file():
        return {}
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return {str(k): str(v) for k, v in data.items()}


def training_record(directory: resources.abc.Traversable, language: str) -> dict[str, Any]:
    """What ``tools/train_ner.py`` recorded beside a model (``{lang}.training.json``: splits,
    params, feature switches); ``{}`` for a model without one."""
    path = directory.joinpath(f"{language}.training.json")
    return dict(json.loads(path.read_text())) if path.is_file() else {}


class _CrfModel:
    """A trained CRF, decoded by :mod:`.crf`, plus the feature extractor it was trained with.

    Every feature but a handful depends on one word at one offset from the token being tagged,
    so each distinct word's label scores at the five offsets are summed once and kept in a table
    (``_table[row, offset]``); a token's emission scores are then a few row additions plus the
    sentence-level features (edges, word bigrams, gazetteer tags), which are looked up directly.
    """

    def __init__(self, language: str, directory: resources.abc.Traversable) -> None:
        # CRFsuite reads the model buffer in place: the bytes must outlive the open tagger.
        model = directory.joinpath(f"{language}.crfsuite").read_bytes()
        tagger = pycrfsuite.Tagger()
        tagger.open_inmemory(model)
        try:
            self.crf = CompiledCrf(tagger)
        finally:
            tagger.close()
        self.labels = self.crf.labels
        self._outside = self.labels.index("O")
        self._entity = np.array([i for i, x in enumerate(self.labels) if x != "O"])
        # Optional tables beside the model; a model trained without one simply lacks the file.
        # Feature switches are in the provenance file train_ner writes (absent: all off).
        self.features = FeatureExtractor(
            cross_script=bool(training_record(directory, language).get("cross_script", False)),
            frequencies=load_lookup(directory, f"{language}.freq.json.gz"),
            clusters=load_lookup(directory, f"{language}.clusters.json.gz"),
            word_lists=load_lookup(directory, f"{language}.lists.json.gz"),
            gazetteer=load_lookup(directory, f"{language}.gaz.json.gz"),
        )
        score = self.crf.score
        self._bias = score(["bias"])
        self._edges = np.stack([score([name]) for name in ("BOS", "BOS2", "EOS", "EOS2")])
        self._bigrams = _BigramTable(
            self.crf.prefixed("b-="),  # "a|b" -> scores added to b
            self.crf.prefixed("b+="),  # "a|b" -> scores added to a
            len(self.labels),
        )
        self._rows: dict[str, int] = {}
        self._normalized: list[str] = []
        self._table: Floats = np.zeros((4096, 5, len(self.labels)))
        # per row: the word's id in the bigram vocabulary (-1: in no bigram) and the length of
        # the longest gazetteer n-gram it starts (0: none)
        self._row_bigram: Ints = np.zeros(4096, dtype=np.int64)
        self._row_gazetteer: Ints = np.zeros(4096, dtype=np.int64)
        self._gazetteer_cache: dict[str, tuple[Floats, Floats, Floats]] = {}
        # compile (or load the cached builds of) the kernels now, not on the first article
        one = np.array([0, 1])
        decode(
            _state_scores(one[:1], one, self._table, self._bias, self._edges),
            one,
            self.crf.transitions,
        )

    def _add_word(self, word: str) -> int:
        """Score a word not seen before and give it a row of the table."""
        row = len(self._rows)
        if row == len(self._table):
            self._table = _doubled(self._table)
            self._row_bigram = _doubled(self._row_bigram)
            self._row_gazetteer = _doubled(self._row_gazetteer)
        normalized, *by_offset = self.features.word_features(word)
        score = self.crf.score
        for offset, attributes in enumerate(by_offset):
            self._table[row, offset] = score(attributes)
        self._row_bigram[row] = self._bigrams.word_id(normalized)
        self._row_gazetteer[row] = self.features.longest_gazetteer_match(normalized)
        self._rows[word] = row
        self._normalized.append(normalized)
        return row

    def _gazetteer_scores(self, tag: str) -> tuple[Floats, Floats, Floats]:
        """Scores a gazetteer tag gives its own token, the token before and the one after."""
        cached = self._gazetteer_cache.get(tag)
        if cached is None:
            score = self.crf.score
            cached = (
                score(("g=" + tag, "gt=" + tag[:5])),
                score(("+1gt=" + tag[:5],)),
                score(("-1gt=" + tag[:5],)),
            )
            self._gazetteer_cache[tag] = cached
        return cached

    def emissions(self, words: list[str], starts: Ints) -> Floats:
        """Label scores of every token; sentence ``s`` is ``words[starts[s]:starts[s + 1]]``.

        The same sums as CRFsuite's over :meth:`FeatureExtractor.sentence_features`: cached
        per-word rows at the five offsets and the sentence edges (one compiled loop), word
        bigrams (one sorted-array lookup for all pairs), gazetteer tags (tried only where a
        gazetteer n-gram can start).
        """
        if len(self._rows) + len(words) > _MAX_WORDS:  # never mid-text: rows must stay valid
            self._rows.clear()
            self._normalized.clear()
        get = self._rows.get
        found = list(map(get, words))
        if None in found:
            for i, word in enumerate(words):
                if found[i] is None:
                    row = get(word)
                    found[i] = self._add_word(word) if row is None else row
        rows = np.array(found, dtype=np.int64)
        scores = _state_scores(rows, starts, self._table, self._bias, self._edges)
        if len(words) > 1:
            # pair i joins tokens i and i + 1; pairs across a sentence boundary do not count
            inside = np.ones(len(words) - 1, dtype=bool)
            inside[starts[1:-1] - 1] = False
            self._bigrams.add(scores, self._row_bigram[rows], inside)
        candidates = np.flatnonzero(self._row_gazetteer[rows])
        if candidates.size:
            lengths = np.diff(starts)
            stops = np.repeat(starts[1:], lengths).tolist()  # end of each token's sentence
            normalized = list(map(self._normalized.__getitem__, cast(list[int], found)))
            tags = self.features.gazetteer(normalized, stops, candidates.tolist())
            first = set(starts[:-1].tolist())
            for i, tag in enumerate(tags):
                if tag:
                    own, before, after = self._gazetteer_scores(tag)
                    scores[i] += own
                    if i not in first:
                        scores[i - 1] += before
                    if i + 1 < stops[i]:
                        scores[i + 1] += after
        return scores

    def tag(self, words: list[str], starts: Ints) -> tuple[list[str], list[float]]:
        """BIO labels and the marginal probability of each chosen label.

        Viterbi labels are kept where they name an entity; a token Viterbi calls O becomes its
        likeliest entity label when P(O) < ``O_THRESHOLD``.  The CRFs are precise but miss
        entities (dev precision ~0.82, recall ~0.6), and this trade raised dev F1 slightly.
        """
        best, marginals = decode(self.emissions(words, starts), starts, self.crf.transitions)
        probs = marginals[np.arange(len(best)), best]
        unsure = (best == self._outside) & (marginals[:, self._outside] < O_THRESHOLD)
        sure_outside = (best == self._outside) & ~unsure
        entity = marginals[:, self._entity]
        choice = self._entity[entity.argmax(axis=1)]
        best = np.where(unsure, choice, best)
        probs = np.where(unsure, entity.max(axis=1), np.where(sure_outside, 1.0, probs))
        labels = self.labels
        return [labels[i] for i in best.tolist()], probs.tolist()


def _doubled(array: _Array) -> _Array:
    """``array`` with as many zero rows again after it (the per-word tables grow this way)."""
    return np.concatenate([array, np.zeros_like(array)])


class _BigramTable:
    """Word-bigram weights looked up for all pairs of a text at once.

    The model's bigram features are ``b-=a|b`` (scores added to ``b``) and ``b+=a|b`` (added to
    ``a``). Every word in some bigram gets an id; a pair of ids is one integer key, and the keys
    live in one sorted array, so a text's pairs are found with one ``searchsorted``.
    """

    def __init__(
        self, before: Mapping[str, Floats], after: Mapping[str, Floats], labels: int
    ) -> None:
        words = {pair: split for pair in {*before, *after} if (split := _split_pair(pair))}
        vocabulary: dict[str, int] = {}
        for split in words.values():
            for word in split:
                vocabulary.setdefault(word, len(vocabulary))
        self._vocabulary = vocabulary
        self._size = max(len(vocabulary), 1)
        keyed = sorted(
            (vocabulary[a] * self._size + vocabulary[b], pair) for pair, (a, b) in words.items()
        )
        self._keys: Ints = np.array([key for key, _ in keyed], dtype=np.int64)
        zero = np.zeros(labels)
        self._before: Floats = np.array([before.get(p, zero) for _, p in keyed]).reshape(-1, labels)
        self._after: Floats = np.array([after.get(p, zero) for _, p in keyed]).reshape(-1, labels)

    def word_id(self, normalized: str) -> int:
        """The word's id in the bigram vocabulary; -1 when it is in no bigram."""
        return self._vocabulary.get(normalized, -1)

    def add(self, scores: Floats, ids: Ints, inside: npt.NDArray[np.bool_]) -> None:
        """Add the weights of every known pair ``(ids[i], ids[i + 1])`` where ``inside[i]``."""
        if not len(self._keys):
            return
        left, right = ids[:-1], ids[1:]
        at = np.flatnonzero(inside & (left >= 0) & (right >= 0))
        if not at.size:
            return
        keys = left[at] * self._size + right[at]
        slots = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        known = self._keys[slots] == keys
        at, slots = at[known], slots[known]
        scores[at + 1] += self._before[slots]
        scores[at] += self._after[slots]


def _split_pair(pair: str) -> tuple[str, str] | None:
    """``"a|b"`` as ``(a, b)``. Words hold no ``|`` except the token ``|`` itself, so the split
    is the one whose both sides are ``|`` or free of it."""
    for cut in range(len(pair)):
        if pair[cut] != "|":
            continue
        a, b = pair[:cut], pair[cut + 1 :]
        if a and b and (a == "|" or "|" not in a) and (b == "|" or "|" not in b):
            return a, b
    return None


@njit(cache=True, nogil=True)
def _state_scores(
    rows: Ints, starts: Ints, table: Floats, bias: Floats, edges: Floats
) -> Floats:  # pragma: no cover - compiled; covered through emissions()
    """Every token's own row plus its neighbours' rows (offsets -1, +1, -2, +2 inside its
    sentence), the bias and the sentence-edge features (BOS, BOS2, EOS, EOS2)."""
    size = table.shape[2]
    scores = np.empty((rows.shape[0], size))
    for s in range(starts.shape[0] - 1):
        first, stop = starts[s], starts[s + 1]
        for i in range(first, stop):
            for j in range(size):
                value = table[rows[i], 0, j] + bias[j]
                if i >= first + 1:
                    value += table[rows[i - 1], 1, j]
                if i >= first + 2:
                    value += table[rows[i - 2], 3, j]
                if i + 1 < stop:
                    value += table[rows[i + 1], 2, j]
                if i + 2 < stop:
                    value += table[rows[i + 2], 4, j]
                if i == first:
                    value += edges[0, j]
                elif i == first + 1:
                    value += edges[1, j]
                if i == stop - 1:
                    value += edges[2, j]
                elif i == stop - 2:
                    value += edges[3, j]
                scores[i, j] = value
    return scores


def _decode(
    text: str,
    spans: list[tuple[int, int]],
    labels: list[str],
    probs: list[float],
    sentence_starts: frozenset[int] = frozenset({0}),
) -> list[NerSpan]:
    """Turn BIO labels over token offsets into entity spans (a stray I- starts an entity).

    Only entity-labelled tokens are visited; an entity continues only over adjacent tokens of
    the same sentence (``sentence_starts`` holds the index of each sentence's first token)."""
    result: list[NerSpan] = []
    current_type = ""
    begin = end = 0
    last = -2
    scores: list[float] = []

    def close() -> None:
        if not current_type:
            return
        start, stop = begin, end
        # punctuation the tagger took in at the edges (".एस" of a split "यू.एस.") is no name
        while start < stop and text[start] in _EDGE_PUNCTUATION:
            start += 1
        while stop > start and text[stop - 1] in _EDGE_PUNCTUATION and text[stop - 1] != ".":
            stop -= 1
        if stop <= start:
            return
        bounds = balanced_span(text, start, stop)
        if bounds is None:
            return
        start, stop = bounds
        result.append(
            NerSpan(
                start,
                stop,
                cast(EntityType, current_type),
                round(sum(scores) / len(scores), 4),
                text[start:stop],
            )
        )

    for i in [i for i, label in enumerate(labels) if label != "O"]:
        prefix, _, kind = labels[i].partition("-")
        if kind not in _ENTITY_TYPES:
            close()
            current_type = ""
            continue
        if prefix == "I" and kind == current_type and i == last + 1 and i not in sentence_starts:
            end = spans[i][1]
            scores.append(probs[i])
            last = i
            continue
        close()
        current_type, (begin, end), scores, last = kind, spans[i], [probs[i]], i
    close()
    return result


class NerTagger:
    """Tags PER/ORG/LOC spans in raw Hindi ('hi'), Urdu ('ur') and English ('en') text."""

    def __init__(self, models: resources.abc.Traversable | None = None) -> None:
        """``models`` overrides the bundled model directory (used by training experiments)."""
        self._directory = models if models is not None else model_dir()
        self._models: dict[str, _CrfModel] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls) -> NerTagger:
        """The shared tagger instance; CRF models are loaded on first use per language."""
        return _shared_tagger()

    def languages(self) -> frozenset[str]:
        """ISO 639-1 codes ``tag`` understands."""
        return _ALL_LANGUAGES

    def _model(self, language: str) -> _CrfModel:
        model = self._models.get(language)
        if model is None:
            with self._lock:
                model = self._models.get(language)
                if model is None:
                    model = _CrfModel(language, self._directory)
                    self._models[language] = model
        return model

    def tag(self, text: str, language: str) -> list[NerSpan]:
        """Entity spans in ``text``; an unsupported language or empty text gives ``[]``."""
        lang = (language or "").strip().lower().replace("_", "-").split("-")[0]
        if lang not in _ALL_LANGUAGES or not text:
            return []
        if lang == "en":
            return [
                NerSpan(s, e, cast(EntityType, t), score, text[s:e])
                for s, e, t, score in english.tag(text)
            ]
        model = self._model(lang)
        groups = sentences(text, tokenize(text))
        if not groups:
            return []
        starts = np.zeros(len(groups) + 1, dtype=np.int64)
        np.cumsum([len(g) for g in groups], out=starts[1:])
        tokens = [span for group in groups for span in group]
        labels, probs = model.tag([text[s:e] for s, e in tokens], starts)
        return _decode(text, tokens, labels, probs, frozenset(starts[:-1].tolist()))


@cache
def _shared_tagger() -> NerTagger:
    return NerTagger()
