"""Named-entity tagger for Hindi, Urdu and English news text: the enrich stage's entry point.

Hindi and Urdu use linear-chain CRFs (CRFsuite) trained by ``tools/train_ner.py`` on IL-NER
(CC BY 4.0, see NOTICE) and shipped in ``models/``; nothing is downloaded at run time.  English has
no training corpus here, so :mod:`.english` proposes capitalised-name candidates with cue-word
typing and deliberately lower scores; the enrich stage's knowledge-base matcher complements it.

``tag`` takes raw running text, so this module owns tokenisation (offsets are never lost: every
span satisfies ``text[span.start:span.end] == span.text``), sentence splitting (short CRF
sequences keep tagging linear and fast) and decoding of BIO labels into scored spans.  A span's
score is the CRF marginal probability of its labels averaged over its tokens.

A :class:`NerTagger` holds CRFsuite tagger handles, which are not thread-safe: use one instance
per thread (``NerTagger.load()`` returns a shared instance for the common single-threaded worker).
"""

from __future__ import annotations

import gzip
import json
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, cast

import pycrfsuite

from . import english
from .features import FeatureExtractor
from .tokenize import sentences, tokenize

__all__ = ["CRF_LANGUAGES", "EntityType", "NerSpan", "NerTagger", "model_dir"]

EntityType = Literal["PER", "ORG", "LOC"]
CRF_LANGUAGES = frozenset({"hi", "ur"})
_ALL_LANGUAGES = CRF_LANGUAGES | {"en"}
_ENTITY_TYPES: frozenset[str] = frozenset({"PER", "ORG", "LOC"})
# Posterior decoding threshold, tuned on the dev splits (0.6-0.8 all gave the same dev F1).
O_THRESHOLD = 0.7


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


class _CrfModel:
    """A CRFsuite tagger plus the feature extractor it was trained with."""

    def __init__(self, language: str, directory: resources.abc.Traversable) -> None:
        model = directory.joinpath(f"{language}.crfsuite")
        # CRFsuite reads the model buffer in place: keep the bytes alive as long as the tagger.
        self._model_bytes = model.read_bytes()
        self.tagger = pycrfsuite.Tagger()
        self.tagger.open_inmemory(self._model_bytes)
        self.entity_labels = sorted(x for x in self.tagger.labels() if x != "O")
        # Optional tables beside the model; a model trained without one simply lacks the file.
        self.features = FeatureExtractor(
            frequencies=load_lookup(directory, f"{language}.freq.json.gz"),
            clusters=load_lookup(directory, f"{language}.clusters.json.gz"),
            word_lists=load_lookup(directory, f"{language}.lists.json.gz"),
            gazetteer=load_lookup(directory, f"{language}.gaz.json.gz"),
        )

    def tag_words(self, words: list[str]) -> tuple[list[str], list[float]]:
        """BIO labels and the marginal probability of each chosen label.

        Viterbi labels are kept where they name an entity; a token Viterbi calls O becomes its
        likeliest entity label when P(O) < ``O_THRESHOLD``.  The CRFs are precise but miss
        entities (dev precision ~0.82, recall ~0.6), and this trade raised dev F1 slightly.
        """
        tagger = self.tagger
        tagger.set(self.features.sentence_features(words))
        labels = cast(list[str], tagger.tag())
        marginal = tagger.marginal
        probs: list[float] = []
        for i, label in enumerate(labels):
            if label != "O":
                probs.append(marginal(label, i))
                continue
            if marginal("O", i) >= O_THRESHOLD:
                probs.append(1.0)
                continue
            best, best_p = label, 0.0
            for candidate in self.entity_labels:
                p = marginal(candidate, i)
                if p > best_p:
                    best, best_p = candidate, p
            labels[i] = best
            probs.append(best_p)
        return labels, probs


def _decode(
    text: str, spans: list[tuple[int, int]], labels: list[str], probs: list[float]
) -> list[NerSpan]:
    """Turn BIO labels over token offsets into entity spans (a stray I- starts an entity)."""
    result: list[NerSpan] = []
    current_type = ""
    begin = end = 0
    scores: list[float] = []

    def close() -> None:
        if current_type:
            result.append(
                NerSpan(
                    begin,
                    end,
                    cast(EntityType, current_type),
                    round(sum(scores) / len(scores), 4),
                    text[begin:end],
                )
            )

    for (start, stop), label, prob in zip(spans, labels, probs, strict=True):
        prefix, _, kind = label.partition("-")
        if kind not in _ENTITY_TYPES:
            close()
            current_type = ""
            continue
        if prefix == "I" and kind == current_type:
            end = stop
            scores.append(prob)
            continue
        close()
        current_type, begin, end, scores = kind, start, stop, [prob]
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
        result: list[NerSpan] = []
        for sentence in sentences(text, tokenize(text)):
            labels, probs = model.tag_words([text[s:e] for s, e in sentence])
            result.extend(_decode(text, sentence, labels, probs))
        return result


@cache
def _shared_tagger() -> NerTagger:
    return NerTagger()
