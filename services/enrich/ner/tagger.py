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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import compress
from typing import Any, Literal, TypeVar, cast

import numpy as np
import pycrfsuite
from cachetools import LRUCache
from numba import njit

from shared.text import balanced_span

from . import english
from .crf import CompiledCrf, Floats, Ints
from .crf import _decode as _crf_decode
from .features import FeatureExtractor
from .names_lm import NameEvidence
from .tokenize import Tokens, sentence_starts, tokenize_words

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


@dataclass(frozen=True, slots=True)
class Reading:
    """What the tagger made of one text: its entity spans, and the word tokens it read them
    from (``None`` for English, whose tagger tokenises its own way)."""

    spans: tuple[NerSpan, ...]
    tokens: Tokens | None


#: Texts remembered with their readings: an article's title and lead are each wanted by more
#: than one pass (the homograph check, the model's mentions, the title rule).
_READINGS_KEPT = 4


def model_dir() -> resources.abc.Traversable:
    """Directory holding the bundled models and lookup tables."""
    return resources.files(__package__).joinpath("models")


def _load_table(directory: resources.abc.Traversable, name: str) -> dict[str, Any]:
    """A ``.json.gz`` table shipped beside a model; missing file -> empty table."""
    path = directory.joinpath(name)
    if not path.is_file():
        return {}
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        return dict(json.load(handle))


def load_lookup(directory: resources.abc.Traversable, name: str) -> dict[str, str]:
    """Load a ``word -> value`` table (``.json.gz``); missing file -> empty table."""
    return {str(k): str(v) for k, v in _load_table(directory, name).items()}


def load_evidence(directory: resources.abc.Traversable, name: str) -> NameEvidence | None:
    """The name evidence shipped beside a model (``None`` for a model trained without it)."""
    table = _load_table(directory, name)
    return NameEvidence.from_json(table) if table else None


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
        self._entity: Ints = np.array(
            [i for i, x in enumerate(self.labels) if x != "O"], dtype=np.int64
        )
        # Optional tables beside the model; a model trained without one simply lacks the file.
        # Feature switches are in the provenance file train_ner writes (absent: all off).
        self.features = FeatureExtractor(
            cross_script=bool(training_record(directory, language).get("cross_script", False)),
            frequencies=load_lookup(directory, f"{language}.freq.json.gz"),
            clusters=load_lookup(directory, f"{language}.clusters.json.gz"),
            word_lists=load_lookup(directory, f"{language}.lists.json.gz"),
            gazetteer=load_lookup(directory, f"{language}.gaz.json.gz"),
            name_evidence=load_evidence(directory, f"{language}.names.json.gz"),
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
        # Where a gazetteer n-gram can start: at a word that is a one-word n-gram, or at a word
        # pair that begins a longer one (pairs as ids into a vocabulary, one sorted array). Most
        # words that begin some n-gram (Urdu: کے, میں, ...) begin none at that place, and trying
        # each in Python was the bulk of the emissions (Urdu leads: 278 -> 180 us an article with
        # this filter, measured).
        singles, pairs = self.features.gazetteer_heads()
        vocabulary: dict[str, int] = {}
        for pair in pairs:
            for word in pair:
                vocabulary.setdefault(word, len(vocabulary))
        self._gazetteer_singles = singles
        self._gazetteer_vocabulary = vocabulary
        self._gazetteer_size = max(len(vocabulary), 1)
        self._gazetteer_pairs: Ints = np.array(
            sorted(vocabulary[a] * self._gazetteer_size + vocabulary[b] for a, b in pairs),
            dtype=np.int64,
        )
        # per row: 1 when the word is a one-word n-gram, and its id among the pairs' words
        self._row_single: Ints = np.zeros(4096, dtype=np.int64)
        self._row_pair_word: Ints = np.zeros(4096, dtype=np.int64)
        self._pair_filter = True  # false once a word's normalised form has a space in it
        # compile (or load the cached builds of) the kernels now, not on the first article
        self.tag(["warm"], np.array([0, 1], dtype=np.int64))
        self._rows.clear()
        self._normalized.clear()

    def _add_word(self, word: str) -> int:
        """Score a word not seen before and give it a row of the table."""
        row = len(self._rows)
        if row == len(self._table):
            self._table = _doubled(self._table)
            self._row_bigram = _doubled(self._row_bigram)
            self._row_gazetteer = _doubled(self._row_gazetteer)
            self._row_single = _doubled(self._row_single)
            self._row_pair_word = _doubled(self._row_pair_word)
        normalized, *by_offset = self.features.word_features(word)
        score = self.crf.score
        for offset, attributes in enumerate(by_offset):
            self._table[row, offset] = score(attributes)
        self._row_bigram[row] = self._bigrams.word_id(normalized)
        self._row_gazetteer[row] = self.features.longest_gazetteer_match(normalized)
        self._row_single[row] = normalized in self._gazetteer_singles
        self._row_pair_word[row] = self._gazetteer_vocabulary.get(normalized, -1)
        if " " in normalized:  # n-grams could then start inside a word pair
            self._pair_filter = False
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
        bigrams = self._bigrams
        scores = _emission_scores(
            rows,
            starts,
            self._table,
            self._bias,
            self._edges,
            self._row_bigram,
            bigrams.keys,
            bigrams.before,
            bigrams.after,
            bigrams.size,
        )
        candidates = (
            _gazetteer_candidates(
                rows,
                self._row_single,
                self._row_pair_word,
                self._gazetteer_pairs,
                self._gazetteer_size,
            )
            if self._pair_filter
            else np.flatnonzero(self._row_gazetteer[rows])
        )
        if candidates.size:
            lengths = np.diff(starts)
            stops = np.repeat(starts[1:], lengths).tolist()  # end of each token's sentence
            normalized = list(map(self._normalized.__getitem__, cast(list[int], found)))
            tags = self.features.gazetteer(normalized, stops, candidates.tolist())
            first = set(starts[:-1].tolist())
            # only the tagged tokens (a few in a text), in order: the additions must happen in
            # the same order for the same floating-point sums
            for i in compress(range(len(tags)), tags):
                own, before, after = self._gazetteer_scores(tags[i])
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
        best, probs = _choose_labels(
            self.emissions(words, starts),
            starts,
            self.crf.transitions,
            self._outside,
            self._entity,
            O_THRESHOLD,
        )
        labels = self.labels
        return list(map(labels.__getitem__, best.tolist())), probs.tolist()


def _doubled(array: _Array) -> _Array:
    """``array`` with as many zero rows again after it (the per-word tables grow this way)."""
    return np.concatenate([array, np.zeros_like(array)])


class _BigramTable:
    """Word-bigram weights looked up for all pairs of a text at once.

    The model's bigram features are ``b-=a|b`` (scores added to ``b``) and ``b+=a|b`` (added to
    ``a``). Every word in some bigram gets an id; a pair of ids is one integer key, and the keys
    live in one sorted array, searched by :func:`_emission_scores` for every pair of a text.
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
        self.size = max(len(vocabulary), 1)
        keyed = sorted(
            (vocabulary[a] * self.size + vocabulary[b], pair) for pair, (a, b) in words.items()
        )
        self.keys: Ints = np.array([key for key, _ in keyed], dtype=np.int64)
        zero = np.zeros(labels)
        self.before: Floats = np.array([before.get(p, zero) for _, p in keyed]).reshape(-1, labels)
        self.after: Floats = np.array([after.get(p, zero) for _, p in keyed]).reshape(-1, labels)

    def word_id(self, normalized: str) -> int:
        """The word's id in the bigram vocabulary; -1 when it is in no bigram."""
        return self._vocabulary.get(normalized, -1)


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


@njit(cache=True, nogil=True)
def _emission_scores(
    rows: Ints,
    starts: Ints,
    table: Floats,
    bias: Floats,
    edges: Floats,
    row_bigram: Ints,
    keys: Ints,
    before: Floats,
    after: Floats,
    vocabulary: int,
) -> Floats:  # pragma: no cover - compiled; covered through emissions()
    """:func:`_state_scores` plus the word-bigram weights (:class:`_BigramTable`) in one
    compiled call instead of ~20 small numpy operations a text (a Hindi lead of 345 tokens:
    emissions 238 -> 147 us with the gazetteer loop over tagged tokens only, measured). Same
    sums in the same order: every pair's ``before`` weights, then every pair's ``after``
    weights."""
    scores = _state_scores(rows, starts, table, bias, edges)
    size = rows.shape[0]
    if size < 2 or keys.shape[0] == 0:
        return scores
    inside = np.ones(size - 1, dtype=np.bool_)
    for s in range(1, starts.shape[0] - 1):
        inside[starts[s] - 1] = False
    at = np.empty(size - 1, dtype=np.int64)
    slots = np.empty(size - 1, dtype=np.int64)
    found = 0
    last = keys.shape[0] - 1
    for i in range(size - 1):
        left, right = row_bigram[rows[i]], row_bigram[rows[i + 1]]
        if not inside[i] or left < 0 or right < 0:
            continue
        key = left * vocabulary + right
        slot = min(np.searchsorted(keys, key), last)
        if keys[slot] == key:
            at[found] = i
            slots[found] = slot
            found += 1
    labels = scores.shape[1]
    for k in range(found):
        for j in range(labels):
            scores[at[k] + 1, j] += before[slots[k], j]
    for k in range(found):
        for j in range(labels):
            scores[at[k], j] += after[slots[k], j]
    return scores


@njit(cache=True, nogil=True)
def _gazetteer_candidates(
    rows: Ints, single: Ints, pair_word: Ints, pairs: Ints, vocabulary: int
) -> Ints:  # pragma: no cover - compiled; covered through emissions()
    """Token positions where a gazetteer n-gram can start: a one-word n-gram, or the first two
    words of a longer one (``pairs``: sorted ``first * vocabulary + second`` ids)."""
    size = rows.shape[0]
    found = np.empty(size, dtype=np.int64)
    count = 0
    last = pairs.shape[0] - 1
    for i in range(size):
        if single[rows[i]]:
            found[count] = i
            count += 1
        elif i + 1 < size and last >= 0:
            first, second = pair_word[rows[i]], pair_word[rows[i + 1]]
            if first >= 0 and second >= 0:
                key = first * vocabulary + second
                if pairs[min(np.searchsorted(pairs, key), last)] == key:
                    found[count] = i
                    count += 1
    return found[:count]


@njit(cache=True, nogil=True)
def _choose_labels(
    emissions: Floats,
    starts: Ints,
    transitions: Floats,
    outside: int,
    entity: Ints,
    threshold: float,
) -> tuple[Ints, Floats]:  # pragma: no cover - compiled; covered through _CrfModel.tag()
    """Viterbi labels and marginals (:func:`.crf.decode`), then the posterior choice of
    :meth:`_CrfModel.tag` token by token instead of a dozen numpy operations (a Hindi lead:
    ``_CrfModel.tag`` 469 -> 270 us with :func:`_emission_scores`, measured)."""
    size = emissions.shape[0]
    best = np.zeros(size, dtype=np.int64)
    marginals = np.zeros((size, transitions.shape[0]), dtype=np.float64)
    probs = np.empty(size, dtype=np.float64)
    if size:
        _crf_decode(emissions, starts, transitions, best, marginals)
    for t in range(size):
        label = best[t]
        if label != outside:
            probs[t] = marginals[t, label]
        elif marginals[t, outside] < threshold:
            # unsure: the likeliest entity label (the first of equals, as argmax)
            choice = entity[0]
            top = marginals[t, choice]
            for k in range(1, entity.shape[0]):
                value = marginals[t, entity[k]]
                if value > top:
                    top, choice = value, entity[k]
            best[t] = choice
            probs[t] = top
        else:
            probs[t] = 1.0
    return best, probs


class _Spans:
    """Token ``i`` as ``(starts[i], ends[i])``: :func:`_decode` reads only the entity tokens, so
    the pairs are not built for every token."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, starts: list[int], ends: list[int]) -> None:
        self._starts = starts
        self._ends = ends

    def __getitem__(self, i: int) -> tuple[int, int]:
        return self._starts[i], self._ends[i]


def _decode(
    text: str,
    spans: Sequence[tuple[int, int]] | _Spans,
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

    for i in list(compress(range(len(labels)), map("O".__ne__, labels))):
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
        self._readings: LRUCache[tuple[str, str], Reading] = LRUCache(_READINGS_KEPT)

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

    def frequency(self, word: str, language: str) -> int:
        """How often the ``language`` model saw ``word`` in training (its frequency bucket's
        lower bound: 1 is at most once); 1 for a language without a CRF model."""
        lang = _base_language(language)
        if lang not in _ALL_LANGUAGES or lang == "en":
            return 1
        return self._model(lang).features.frequency(word)

    def tag(self, text: str, language: str) -> list[NerSpan]:
        """Entity spans in ``text``; an unsupported language or empty text gives ``[]``."""
        return list(self.read(text, language).spans)

    def read(self, text: str, language: str) -> Reading:
        """:meth:`tag`'s spans with the tokens they came from; the last few texts' readings are
        kept, so passes over the same text share one."""
        key = (_base_language(language), text)
        with self._lock:
            reading = self._readings.get(key)
        if reading is None:
            reading = self._read(*key)
            with self._lock:
                self._readings[key] = reading
        return reading

    def _read(self, lang: str, text: str) -> Reading:
        if lang not in _ALL_LANGUAGES or not text:
            return Reading((), None)
        if lang == "en":
            return Reading(
                tuple(
                    NerSpan(s, e, cast(EntityType, t), score, text[s:e])
                    for s, e, t, score in english.tag(text)
                ),
                None,
            )
        model = self._model(lang)
        tokens = tokenize_words(text)
        starts, ends, words, breaks = tokens
        if not words:
            return Reading((), tokens)
        bounds = sentence_starts(text, starts, ends, words, breaks)
        labels, probs = model.tag(words, np.array(bounds, dtype=np.int64))
        spans = _decode(text, _Spans(starts, ends), labels, probs, frozenset(bounds[:-1]))
        return Reading(tuple(spans), tokens)


def _base_language(language: str) -> str:
    """``"hi-IN"``, ``"HI"`` → ``"hi"``."""
    return (language or "").strip().lower().replace("_", "-").split("-")[0]


@cache
def _shared_tagger() -> NerTagger:
    return NerTagger()
