"""Query understanding: which words of a query name entities, so they match in every script.

Articles carry linked entity ids (``geo:PK`` for پاکستان, पाकिस्तान and Pakistan alike; a
cross-script name id such as ``per:nblmnr`` for names the knowledge base does not know), so a
query word that names an entity can match an article in *any* script through ``entity_ids``,
while its plain text only matches articles in the script it was typed in. This module turns a
query into :class:`Clause` objects, each "these words, as text, or any of these entity ids":

1. knowledge-base aliases, longest n-gram first, with the KB's own precision rules
   (:meth:`KnowledgeBase.find_mentions`); an all-lowercase Latin word is also tried capitalised,
   so ``pakistan`` resolves while ``us`` does not become the United States (acronym aliases
   need capitals);
2. every remaining word also matches the cross-script name ids (:func:`names.entity_id`, all
   four types) of each word n-gram around it, so ``Nabil Munir`` finds the Urdu نبیل منیر
   (``per:nblmnr``) without a round trip to check which ids exist.

Every clause must match (the query means all its words); words cannot be translated, so a
non-name word still only matches text in its own script. Pure functions, no I/O;
:class:`QueryResolver` remembers recent answers (a bounded LRU), since the same queries recur.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cachetools import LRUCache

from shared import names
from shared.errors import KhabarError
from shared.kb import GazetteerHit, KbEntry, KnowledgeBase, tokenize
from shared.text import normalize_text

Via = Literal["kb", "name_key", "text"]

ENTITY_TYPES = ("per", "org", "loc", "misc")
#: Scripts whose names get cross-script key ids (see :func:`name_key_ids`).
NAME_SCRIPTS = frozenset({"Arab", "Deva", "Latn"})
#: Longest word n-gram tried as a name outside the KB (names are rarely longer).
MAX_NAME_WORDS = 3
#: Shorter consonant keys collide too often with unrelated words (``the`` → ``t``).
MIN_KEY_LENGTH = 2
#: Surface forms per KB entity given to the highlighter (names first, then aliases).
MAX_SURFACES_PER_ENTITY = 12
#: A city typed in lowercase resolves only when this prominent (KB rank ≈ log10 population).
MIN_LOWERCASE_CITY_RANK = 6.0


class QueryTooLongError(KhabarError):
    """The query has more words than the gateway accepts."""


@dataclass(frozen=True, slots=True)
class Clause:
    """Words of the query that must match, as text or as one of ``entity_ids``."""

    text: str
    via: Via
    entity_ids: tuple[str, ...] = ()
    surfaces: tuple[str, ...] = ()

    @property
    def search_text(self) -> str:
        """The words in the form the ``search_*`` fields are indexed in."""
        return normalize_text(self.text)


@dataclass(frozen=True, slots=True)
class ResolvedQuery:
    """A query split into clauses; ``raw`` is what the user typed."""

    raw: str
    clauses: tuple[Clause, ...] = field(default_factory=tuple)

    @property
    def entity_ids(self) -> tuple[str, ...]:
        """Every entity id any clause can match, in order, without repeats."""
        return tuple(dict.fromkeys(i for c in self.clauses for i in c.entity_ids))

    @property
    def highlight_terms(self) -> tuple[str, ...]:
        """Texts to highlight in the original fields: the query and KB names in every script."""
        terms = [self.raw, *(s for c in self.clauses for s in c.surfaces)]
        return tuple(dict.fromkeys(t for t in terms if t.strip()))


def _surfaces(entry: KbEntry) -> tuple[str, ...]:
    """An entry's names in every language, then its aliases: what the articles may say."""
    forms = [*entry.names.values(), *(a for aliases in entry.aliases.values() for a in aliases)]
    return tuple(dict.fromkeys(forms))[:MAX_SURFACES_PER_ENTITY]


def _capitalised(text: str) -> str:
    """Lowercase ASCII words capitalised, same length, so KB case rules can apply."""
    chars = list(text)
    for start, _end, token in tokenize(text):
        if token.isascii() and token.islower():
            chars[start] = token[0].upper()
    return "".join(chars)


def _kb_hits(text: str, kb: KnowledgeBase) -> list[GazetteerHit]:
    """KB mentions in the query as typed, plus those only its capitalised form has.

    A lowercase word is a weaker signal than a capitalised one (``metro`` is also a town in
    Indonesia), so the capitalised pass only accepts entries that are not small cities.
    """
    hits = kb.find_mentions(text)
    capitalised = _capitalised(text)
    if capitalised != text:
        for hit in kb.find_mentions(capitalised):
            if hit.entry.kind == "city" and hit.entry.rank < MIN_LOWERCASE_CITY_RANK:
                continue
            if not any(hit.start < h.end and h.start < hit.end for h in hits):
                hits.append(hit)
    return sorted(hits, key=lambda h: h.start)


def name_key_ids(words: str) -> tuple[str, ...]:
    """The ids a name outside the KB would have been given at enrichment, for every type.

    Only Urdu, Hindi and Latin script: other scripts would need uroman, whose first call
    takes seconds — too slow for a query, and not a script our news is written in.
    """
    if any(names.script_of(word) not in NAME_SCRIPTS for word in words.split()):
        return ()
    ids: list[str] = []
    for kind in ENTITY_TYPES:
        # as names.entity_id: only a person's key drops titles ("Foreign Office" keeps both)
        key = names.name_key(words, strip_titles=kind == "per")
        if len(key) >= MIN_KEY_LENGTH:
            ids.append(f"{kind}:{key}")
    return tuple(ids)


def _run_clauses(words: list[str]) -> list[Clause]:
    """Clauses for a run of words outside the KB: each with the name ids of n-grams around it."""
    clauses: list[Clause] = []
    for index, word in enumerate(words):
        ids: list[str] = []
        for length in range(min(MAX_NAME_WORDS, len(words)), 0, -1):
            for start in range(max(0, index - length + 1), min(index, len(words) - length) + 1):
                ids.extend(name_key_ids(" ".join(words[start : start + length])))
        unique = tuple(dict.fromkeys(ids))
        clauses.append(Clause(word, "name_key" if unique else "text", unique))
    return clauses


def resolve_query(text: str, kb: KnowledgeBase, max_words: int = 32) -> ResolvedQuery:
    """Split a query into clauses; :class:`QueryTooLongError` above ``max_words`` words."""
    tokens = tokenize(text)
    if len(tokens) > max_words:
        raise QueryTooLongError(f"the query has {len(tokens)} words; the limit is {max_words}")
    hits = _kb_hits(text, kb)
    clauses: list[Clause] = []
    run: list[str] = []
    position = 0
    for start, end, token in tokens:
        if start < position:
            continue  # inside the previous KB mention
        hit = next((h for h in hits if h.start <= start < h.end), None)
        if hit is None:
            run.append(token)
            position = end
            continue
        clauses.extend(_run_clauses(run))
        run = []
        typed = text[hit.start : hit.end]
        clauses.append(Clause(typed, "kb", (hit.entry.id,), _surfaces(hit.entry)))
        position = hit.end
    clauses.extend(_run_clauses(run))
    return ResolvedQuery(raw=" ".join(text.split()), clauses=tuple(clauses))


class QueryResolver:
    """:func:`resolve_query` with a bounded LRU of recent answers, for one knowledge base.

    Resolution is pure (the KB is immutable once loaded) and a :class:`ResolvedQuery` is frozen,
    so an answer can be shared between requests. Refusals (:class:`QueryTooLongError`) are
    not remembered: counting words is cheaper than the entry would be. Single-threaded use
    (the event loop); the least recently used query is forgotten first.
    """

    def __init__(self, kb: KnowledgeBase, max_entries: int = 4096) -> None:
        self.kb = kb
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._cache: LRUCache[tuple[str, int], ResolvedQuery] = LRUCache(max(1, max_entries))

    def __len__(self) -> int:
        return len(self._cache)

    def resolve(self, text: str, max_words: int = 32) -> ResolvedQuery:
        """The clauses of ``text``; :class:`QueryTooLongError` above ``max_words`` words."""
        key = (text, max_words)
        found = self._cache.get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        resolved = resolve_query(text, self.kb, max_words)
        if self.max_entries > 0:
            self._cache[key] = resolved
        return resolved
