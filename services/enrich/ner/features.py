"""Feature extraction for the Hindi/Urdu CRF taggers, shared by training and run-time tagging.

Training (``tools/train_ner.py``) and the tagger must compute byte-identical feature strings, so
both go through :class:`FeatureExtractor`.  Speed matters (the enrich stage must tag at least
20,000 tokens/s on one core), so everything that depends on one word only — its normalised form,
affixes, shape and frequency bucket — is computed once per distinct word and cached as
ready-made, position-prefixed feature strings; a sentence then only concatenates cached lists and
adds two bigram strings per token.

Why these features: 40% (hi) / 44% (ur) of dev entities never occur in the training data, so the
model has to generalise from word shape rather than memorise words.  Character prefixes and
suffixes catch name morphology (-पुर/-پور places, -ी/-ی demonyms), the neighbours' words and
suffixes catch the postpositions and titles around names (ने, के, श्री, وزیر اعظم), and a
word-frequency bucket (from the training text, shipped as a lookup table) tells the model that a
word it has never seen is, like the training hapaxes, much more likely to be a name than a
function word.  Three optional tables target unseen names further: distributional word clusters
computed from unlabelled text (a name never labelled in training still shares a cluster with
labelled ones), knowledge-base gazetteer matches (countries, cities, parties, agencies) and name
and cue-word lists harvested from the training labels.  A model trained without a table simply
finds no file for it and gets exactly the features it was trained with.  Cross-script features
(a switch recorded in the model's ``{lang}.training.json``) add each word's consonant skeleton
from :func:`shared.names.name_key`, shared by its Hindi, Urdu and Latin spellings: the
Urdu model learns half its names from Hindi transliterated by machine, spelt unlike native Urdu
(نریندر / نریندرا) but with the same skeleton.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet

from shared.names import name_key

from .names_lm import NameEvidence

__all__ = [
    "FeatureExtractor",
    "frequency_buckets",
    "gazetteer_prefixes",
    "gazetteer_tags",
    "normalize_word",
]

_DEVANAGARI_NUKTA = "\u093c"
# Precomposed nukta letters (क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़) decompose under NFD; dropping the nukta merges
# the spellings writers use interchangeably.
_URDU_MAP = str.maketrans(
    {
        "\u064a": "\u06cc",  # Arabic yeh -> Farsi/Urdu yeh
        "\u0649": "\u06cc",  # alef maksura -> Urdu yeh
        "\u0643": "\u06a9",  # Arabic kaf -> keheh
        "\u0647": "\u06c1",  # Arabic heh -> heh goal (Urdu ہ)
        "\u06c0": "\u06c2",  # heh with yeh above
        "\u0629": "\u06c3",  # teh marbuta
    }
)
# Arabic-script harakat, superscript alef and small high marks: optional in Urdu writing.
_ARABIC_DIACRITICS_RE = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_JOINERS_RE = re.compile("[\u200b-\u200f\u2060\ufeff]")
_DIGIT_RE = re.compile(r"\d")
_DEVANAGARI_RE = re.compile("[\u0900-\u097f]")
_ARABIC_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_RE = re.compile("[A-Za-z\u00c0-\u024f]")


def normalize_word(word: str) -> str:
    """Fold spelling variants that carry no meaning for NER (nukta, Arabic letter forms, digits)."""
    w = _JOINERS_RE.sub("", word)
    if _DEVANAGARI_RE.search(w):
        w = unicodedata.normalize("NFD", w).replace(_DEVANAGARI_NUKTA, "")
        w = unicodedata.normalize("NFC", w).replace("\u0901", "\u0902")  # chandrabindu ~ anusvara
    if _ARABIC_RE.search(w):
        w = _ARABIC_DIACRITICS_RE.sub("", w.translate(_URDU_MAP))
    w = _DIGIT_RE.sub("0", w)
    return w.lower()


def frequency_buckets(corpus: Iterable[Sequence[str]]) -> dict[str, str]:
    """Bucket the training frequency of every normalised word seen at least twice."""
    counts = Counter(normalize_word(w) for words in corpus for w in words)
    table: dict[str, str] = {}
    for word, count in counts.items():
        if count >= 2:
            table[word] = next(str(b) for b in (100, 20, 5, 3, 2) if count >= b)
    return table


def _shape(word: str) -> str:
    """Coarse script/shape class of the raw token."""
    if not word:
        return "empty"
    if word.isdigit() or _DIGIT_RE.fullmatch(word[0]) and _DIGIT_RE.search(word[-1]):
        return "num"
    if _DEVANAGARI_RE.search(word):
        return "deva" if not _DIGIT_RE.search(word) else "deva0"
    if _ARABIC_RE.search(word):
        return "arab" if not _DIGIT_RE.search(word) else "arab0"
    if _LATIN_RE.search(word):
        if word.isupper():
            return "LAT"
        if word[0].isupper():
            return "Lat"
        return "lat"
    if all(unicodedata.category(c).startswith(("P", "S")) for c in word):
        return "punct"
    return "other"


def gazetteer_tags(
    normalized: Sequence[str],
    gazetteer: Mapping[str, str],
    first_len: Mapping[str, int],
    stops: Sequence[int] | None = None,
    starts: Iterable[int] | None = None,
    prefixes: AbstractSet[str] | None = None,
) -> list[str]:
    """BIO gazetteer tags (``B-LOC:city``) of normalised words, or ``""``.

    ``gazetteer`` maps space-joined normalised word n-grams to ``TYPE:kind``; ``first_len`` maps
    each n-gram's first word to the longest n-gram starting with it.  Longest match first, left to
    right, never overlapping.  ``stops[i]`` is where word ``i``'s sentence ends (no match runs
    past it); without it the words are one sentence.  ``starts``, when the caller knows them,
    are the positions (ascending) whose word begins some n-gram: only those are tried.
    ``prefixes`` (every proper prefix of two words or more of an n-gram, see
    :func:`gazetteer_prefixes`) lets a match grow word by word only while it can still become an
    n-gram, instead of trying every length down from the longest: the same answer with fewer
    lookups (most words that start an n-gram start none there; Urdu leads: 110 -> 94 us an
    article, measured).
    """
    size = len(normalized)
    tags = [""] * size
    next_free = 0
    positions = (
        enumerate(map(first_len.get, normalized))
        if starts is None
        else ((i, first_len.get(normalized[i])) for i in starts)
    )
    for i, longest in positions:
        if not longest or i < next_free:
            continue
        stop = size if stops is None else stops[i]
        limit = min(longest, stop - i)
        length, value = (
            _longest_downwards(normalized, gazetteer, i, limit)
            if prefixes is None
            else _longest_upwards(normalized, gazetteer, prefixes, i, limit)
        )
        if value is not None:
            tags[i] = "B-" + value
            for k in range(i + 1, i + length):
                tags[k] = "I-" + value
            next_free = i + length
    return tags


def _longest_downwards(
    normalized: Sequence[str], gazetteer: Mapping[str, str], i: int, limit: int
) -> tuple[int, str | None]:
    """The longest n-gram at word ``i`` of at most ``limit`` words: every length, longest first."""
    for length in range(limit, 0, -1):
        key = normalized[i] if length == 1 else " ".join(normalized[i : i + length])
        value = gazetteer.get(key)
        if value is not None:
            return length, value
    return 0, None


def _longest_upwards(
    normalized: Sequence[str],
    gazetteer: Mapping[str, str],
    prefixes: AbstractSet[str],
    i: int,
    limit: int,
) -> tuple[int, str | None]:
    """:func:`_longest_downwards` growing the match while it is a prefix of some n-gram."""
    if limit <= 0:
        return 0, None
    key = normalized[i]
    value = gazetteer.get(key)
    found = (1, value) if value is not None else (0, None)
    for length in range(2, limit + 1):
        word = normalized[i + length - 1]
        if " " in word:  # word boundaries no longer follow the spaces: try every length
            return _longest_downwards(normalized, gazetteer, i, limit)
        key = key + " " + word
        value = gazetteer.get(key)
        if value is not None:
            found = (length, value)
        if key not in prefixes:
            break
    return found


def gazetteer_prefixes(gazetteer: Iterable[str]) -> frozenset[str]:
    """Every proper prefix of two words or more of the n-grams in ``gazetteer``."""
    prefixes: set[str] = set()
    for key in gazetteer:
        words = key.split(" ")
        prefixes.update(" ".join(words[:length]) for length in range(2, len(words)))
    return frozenset(prefixes)


class FeatureExtractor:
    """Turns token strings into CRFsuite attribute lists, caching everything per distinct word.

    Optional lookup tables (all keyed by normalised word, all built at training time and shipped
    beside the model): ``frequencies`` (training-frequency bucket), ``clusters`` (a hierarchical
    distributional cluster path, one character per level, used at several prefix lengths),
    ``word_lists`` (``|``-joined list names such as ``per`` or ``orgend``) and ``gazetteer``
    (knowledge-base n-grams -> ``TYPE:kind``, matched per sentence).  ``cross_script`` adds the
    word's consonant skeleton (``k=``, its first and last two letters) and, for the neighbours,
    the skeleton alone. ``name_evidence`` adds how name-like its letters are (``nm=``, a bucket
    of :class:`~.names_lm.NameEvidence`), for the word and its neighbours.
    """

    def __init__(
        self,
        frequencies: Mapping[str, str] | None = None,
        max_cache: int = 200_000,
        clusters: Mapping[str, str] | None = None,
        word_lists: Mapping[str, str] | None = None,
        gazetteer: Mapping[str, str] | None = None,
        cross_script: bool = False,
        name_evidence: NameEvidence | None = None,
    ) -> None:
        self._cross_script = cross_script
        self._name_evidence = name_evidence
        self._frequencies: Mapping[str, str] = frequencies or {}
        self._clusters: Mapping[str, str] = clusters or {}
        self._word_lists: Mapping[str, str] = word_lists or {}
        self._gazetteer: Mapping[str, str] = gazetteer or {}
        self._first_len: dict[str, int] = {}
        for key in self._gazetteer:
            first, _, rest = key.partition(" ")
            length = rest.count(" ") + 2 if rest else 1
            self._first_len[first] = max(self._first_len.get(first, 0), length)
        self._prefixes = gazetteer_prefixes(self._gazetteer)
        self._max_cache = max_cache
        # word -> (normalised form, features at offsets 0, -1, +1, -2, +2)
        self._cache: dict[
            str, tuple[str, list[str], list[str], list[str], list[str], list[str]]
        ] = {}

    def frequency(self, word: str) -> int:
        """How often ``word`` was seen in training, as its bucket's lower bound (1: at most
        once, or no frequency table)."""
        return int(self._frequencies.get(normalize_word(word), "1"))

    def word_features(
        self, word: str
    ) -> tuple[str, list[str], list[str], list[str], list[str], list[str]]:
        """A word's normalised form and its features as the token itself, as the token before
        (``-1``) or after (``+1``) the one being tagged, and two before or after (``-2``/``+2``)."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        n = normalize_word(word)
        shape = _shape(word)
        if shape == "num":
            n = "<num>"
        own = [
            "w=" + n,
            "sh=" + shape,
            "len=" + str(min(len(n), 10)),
        ]
        if shape not in ("num", "punct"):
            own.extend(
                (
                    "p1=" + n[:1],
                    "p2=" + n[:2],
                    "p3=" + n[:3],
                    "s1=" + n[-1:],
                    "s2=" + n[-2:],
                    "s3=" + n[-3:],
                    "s4=" + n[-4:],
                )
            )
        # Words missing from the table (seen once or never in training) share the bucket "1".
        freq = ["f=" + self._frequencies.get(n, "1")] if self._frequencies else []
        own.extend(freq)
        near = ["w=" + n, "sh=" + shape, "s2=" + n[-2:], *freq]
        if self._clusters and shape not in ("num", "punct"):
            path = self._clusters.get(n)
            if path is None:
                own.append("c=?")
                near.append("c=?")
            else:
                own.extend(f"c{k}={path[:k]}" for k in range(1, len(path) + 1))
                near.extend(f"c{k}={path[:k]}" for k in range(2, len(path) + 1))
        if self._cross_script and shape not in ("num", "punct"):
            key = name_key(word)
            if key:
                own.extend(("k=" + key, "kp2=" + key[:2], "ks2=" + key[-2:]))
                near.append("k=" + key)
        if self._name_evidence is not None and shape not in ("num", "punct"):
            evidence = "nm=" + self._name_evidence.bucket(n)
            own.append(evidence)
            near.append(evidence)
        lists = self._word_lists.get(n)
        if lists:
            own.extend("L=" + name for name in lists.split("|"))
            near.extend("L=" + name for name in lists.split("|"))
        far = ["w=" + n]
        entry = (
            n,
            own,
            ["-1" + f for f in near],
            ["+1" + f for f in near],
            ["-2" + f for f in far],
            ["+2" + f for f in far],
        )
        if len(self._cache) >= self._max_cache:
            self._cache.clear()
        self._cache[word] = entry
        return entry

    def gazetteer(
        self,
        normalized: Sequence[str],
        stops: Sequence[int] | None = None,
        starts: Iterable[int] | None = None,
    ) -> list[str]:
        """Gazetteer tags of normalised words (see :func:`gazetteer_tags`; ``[]`` without one)."""
        if not self._gazetteer:
            return []
        return gazetteer_tags(
            normalized, self._gazetteer, self._first_len, stops, starts, self._prefixes
        )

    def gazetteer_heads(self) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
        """The one-word n-grams, and the first two words of every longer n-gram: a match can
        only start at one of the first or before the second word of one of the pairs."""
        singles = frozenset(key for key in self._gazetteer if " " not in key)
        pairs = frozenset(
            (words[0], words[1]) for key in self._gazetteer if len(words := key.split(" ")) > 1
        )
        return singles, pairs

    def longest_gazetteer_match(self, normalized: str) -> int:
        """Words in the longest gazetteer n-gram that starts with this word (0: none)."""
        return self._first_len.get(normalized, 0)

    def sentence_features(self, words: Sequence[str]) -> list[list[str]]:
        """CRFsuite attributes for every token of one sentence."""
        entries = [self.word_features(w) for w in words]
        size = len(entries)
        gaz = self.gazetteer([e[0] for e in entries])
        result: list[list[str]] = []
        for i, entry in enumerate(entries):
            feats = ["bias", *entry[1]]
            if gaz:
                tag = gaz[i]
                if tag:
                    feats.extend(("g=" + tag, "gt=" + tag[:5]))
                if i > 0 and gaz[i - 1]:
                    feats.append("-1gt=" + gaz[i - 1][:5])
                if i + 1 < size and gaz[i + 1]:
                    feats.append("+1gt=" + gaz[i + 1][:5])
            if i > 0:
                prev = entries[i - 1]
                feats.extend(prev[2])
                feats.append("b-=" + prev[0] + "|" + entry[0])
                if i > 1:
                    feats.extend(entries[i - 2][4])
                else:
                    feats.append("BOS2")
            else:
                feats.append("BOS")
            if i + 1 < size:
                nxt = entries[i + 1]
                feats.extend(nxt[3])
                feats.append("b+=" + entry[0] + "|" + nxt[0])
                if i + 2 < size:
                    feats.extend(entries[i + 2][5])
                else:
                    feats.append("EOS2")
            else:
                feats.append("EOS")
            result.append(feats)
        return result
