"""The enrichment itself, as a plain function: ``Enricher().enrich(raw) -> EnrichedArticle``.

No Kafka here: the faust agent (``services.enrich.app``), the ``khabar enrich`` CLI and the tests
all call the same code. Steps, each timed into ``timings_ms``:

1. clean: strip page furniture, find the real headline and the dateline (``cleaning``);
2. language and script, with each language's share (``language``);
3. publication date from the dateline, never in the future (``dates``);
4. entities: knowledge-base matches (``kb``) and the statistical tagger (``ner``) over title and
   body, linked to KB ids where possible, otherwise to a cross-script name id (``names``), so
   the Hindi and Urdu spellings of a new name are one entity;
5. vector: the headline and lead as one multilingual unit vector (``shared.vectors``), or the
   ``no_vector`` flag when the text carries nothing to place.

Entity extraction is pluggable: anything with ``extract(field, text, language)`` returning
:class:`Candidate` objects can be added to ``Enricher.extractors``.
"""

from __future__ import annotations

import functools
import re
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from pydantic import TypeAdapter

from services.enrich import dates, language
from services.enrich.cleaning import clean_page
from services.enrich.dates import extract_published_at
from services.enrich.language import detect_language
from services.enrich.ner import NerSpan, NerTagger
from services.enrich.ner.tokenize import Tokens, tokenize_words, word_runs
from shared import names
from shared.kb import GazetteerHit, KbEntry, KnowledgeBase
from shared.models import (
    EnrichedArticle,
    Entity,
    EntityType,
    EvidenceSource,
    RawArticle,
    TextField,
    utc_now,
)
from shared.telemetry import current_trace_id
from shared.text import normalize_text
from shared.vectors import StaticEmbedder, article_vector, as_list, shared_embedder


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposed entity mention before linking."""

    field: TextField
    start: int
    end: int
    text: str
    type: EntityType
    source: EvidenceSource
    score: float
    entry: KbEntry | None = None


class Extractor(Protocol):
    """Something that proposes entity mentions in one field of an article."""

    def extract(self, field: TextField, text: str, language: str) -> list[Candidate]:
        """Candidates found in ``text``; offsets are into ``text``."""
        ...


#: Head words of programme and campaign names: a place inside one ("स्वच्छ भारत अभियान", "آتم
#: نربھر بھارت ابھیان", "Digital India Mission") names the programme, not the place. Measured on
#: a held-out third of IL-NER Hindi train: 23 of the knowledge base's 102 added false positives
#: were "भारत" or "इंडिया" inside such names.
_PROGRAMME_HEADS = frozenset(
    normalize_text(word)
    for word in (
        "अभियान मिशन योजना कार्यक्रम ابھیان ابهیان مہم مشن پروگرام اسکیم سکیم یوجنا "
        "mission campaign scheme programme program yojana abhiyan"
    ).split()
)
#: Words that end a name: a postposition or conjunction between the place and a programme word
#: ("भारत के मिशन", India's mission) leaves the place a place.
_NAME_BREAKS = frozenset(
    normalize_text(word)
    for word in "के की का में से को ने और کے کی کا میں سے کو نے اور of in and the for to".split()
)
_CLAUSE_MARKS = frozenset(",.;:()|।۔،\"'")


def _heads_a_programme(text: str, end: int) -> bool:
    """Whether a programme's head word is one of the two words after ``end``, in one name."""
    for word in text[end : end + 40].split()[:2]:
        key = normalize_text(word)
        if key.rstrip(",.;:)|।۔،\"'") in _PROGRAMME_HEADS:
            return True
        if key in _NAME_BREAKS or not key or key[0] in _CLAUSE_MARKS or key[-1] in _CLAUSE_MARKS:
            return False
    return False


#: "of" of an English name written in Urdu or Hindi ("اسٹیٹ بینک آف انڈیا", "यूनियन ऑफ इंडिया"):
#: the place after it is the name's, not a mention (Urdu, a held-out third of IL-NER train: 3 of
#: the knowledge base's 8 false "انڈیا").
_TRANSLITERATED_OF = frozenset(normalize_text(word) for word in "آف ऑफ ऑफ़ अॉफ".split())


def _inside_a_name(text: str, start: int, end: int) -> bool:
    """Whether a place the knowledge base found at ``text[start:end]`` only names something
    else: a programme (:func:`_heads_a_programme`) or an English-style "… of India"."""
    before = text[max(0, start - 8) : start].split()
    return (
        bool(before)
        and normalize_text(before[-1]) in _TRANSLITERATED_OF
        or (_heads_a_programme(text, end))
    )


#: The tagger's least confidence that confirms a homograph alias (:class:`GazetteerExtractor`).
#: On sentences written for its test (tests/unit/enrich/test_homographs.py) the tagger reads
#: the word senses at 0.47 ("دلی مبارکباد", heartfelt) and 0.68 ("उसकी सूरत", a face), the places
#: at 0.80 and above.
HOMOGRAPH_SCORE = 0.75
#: Tagger types that confirm a knowledge-base type: a country reads as a place or a body.
_CONFIRMING_TYPES: dict[str, frozenset[str]] = {
    "LOC": frozenset({"LOC", "ORG"}),
    "ORG": frozenset({"LOC", "ORG"}),
    "PER": frozenset({"PER"}),
}
#: How far around a homograph the tagger reads, at most, to the sentence ends either side.
_HOMOGRAPH_WINDOW = 300


class GazetteerExtractor:
    """Mentions of knowledge-base entries, in any script (a place is no mention where it only
    names something else: :func:`_inside_a_name`).

    A homograph alias (Urdu چین, China and a chain; Hindi सूरत, Surat and a face) is a mention
    only where ``tagger`` reads a name of a confirming type over it, at least
    :data:`HOMOGRAPH_SCORE` sure, in the sentence around it ("سپلائی چین" is no China). Without a
    tagger there is no such evidence and homographs are never mentions. In the lead (the first
    ``lead_chars``, 0 = all, as :class:`ModelExtractor` cuts it) the tagger reads the whole lead,
    the reading the model extractor then shares; beyond it (or with no ``lead_chars``), only the
    sentence.
    """

    def __init__(
        self, kb: KnowledgeBase, tagger: NerTagger | None = None, lead_chars: int | None = None
    ) -> None:
        self.kb = kb
        self.tagger = tagger
        self.lead_chars = lead_chars

    def extract(self, field: TextField, text: str, language: str) -> list[Candidate]:
        return [
            Candidate(
                field,
                hit.start,
                hit.end,
                hit.text,
                _entity_type(hit.entry.type),
                "kb",
                hit.score,
                hit.entry,
            )
            for hit in self.kb.find_mentions(text, word_runs(text))
            if (hit.entry.type != "LOC" or not _inside_a_name(text, hit.start, hit.end))
            and (not hit.homograph or self._confirmed(text, hit, language))
        ]

    def _confirmed(self, text: str, hit: GazetteerHit, language: str) -> bool:
        """Whether the tagger reads a name of a confirming type over the homograph ``hit``."""
        if self.tagger is None:
            return False
        cut = -1 if self.lead_chars is None else lead_cut(text, self.lead_chars)
        if hit.end <= cut:
            start, end = 0, cut
        else:
            start, end = _sentence_around(text, hit.start, hit.end, _HOMOGRAPH_WINDOW)
        types = _CONFIRMING_TYPES.get(hit.entry.type, frozenset())
        return any(
            span.type in types
            and span.score >= HOMOGRAPH_SCORE
            and start + span.start < hit.end
            and hit.start < start + span.end
            for span in self.tagger.read(text[start:end], language).spans
        )


_SENTENCE_ENDS = ("\n", "۔", "।", ". ", "؟", "? ", "! ")


def _sentence_around(text: str, start: int, end: int, reach: int) -> tuple[int, int]:
    """The bounds of the sentence holding ``text[start:end]``, at most ``reach`` characters
    further either side."""
    low, high = max(0, start - reach), min(len(text), end + reach)
    begins = [
        at + len(mark) for mark in _SENTENCE_ENDS if (at := text.rfind(mark, low, start)) >= 0
    ]
    ends = [at + 1 for mark in _SENTENCE_ENDS if (at := text.find(mark, end, high)) >= 0]
    begin = max(begins, default=low)
    return begin + len(text[begin:start]) - len(text[begin:start].lstrip()), min(ends, default=high)


def lead_cut(text: str, max_chars: int) -> int:
    """Where the lead of ``text`` ends: the last sentence end before ``max_chars`` (0 = all)."""
    if max_chars <= 0 or len(text) <= max_chars:
        return len(text)
    cut = max(text.rfind(end, 0, max_chars) for end in _SENTENCE_ENDS)
    if cut < max_chars // 2:
        cut = text.rfind(" ", 0, max_chars)
    return cut + 1 if cut > 0 else max_chars


_NON_SPACE_RE = re.compile(r"\S+")


def _whole_words(text: str, surface: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """Offsets of ``surface`` in ``text`` from ``start`` on, where it stands as whole words."""
    at = text.find(surface, start)
    while at >= 0:
        end = at + len(surface)
        if _word_at(text, at, end):
            yield at, end
        at = text.find(surface, end)


def _word_at(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not before.isalnum() and not after.isalnum()


#: :func:`names.name_span` of a person mention, memoised: a pure function of the mention, and
#: names recur across articles (measured: 10 us a call, 0.1 us cached; ~8 PER mentions an article).
_name_span = functools.lru_cache(maxsize=65536)(names.name_span)
#: The same for the organisation/place rules (pure functions of the mention, names recur).
_person_after_title = functools.lru_cache(maxsize=65536)(names.person_after_title)
_names_an_office = functools.lru_cache(maxsize=65536)(names.names_an_office)


#: The least confidence of a person the tagger called an organisation or a place, found after a
#: title or honorific instead (:meth:`ModelExtractor._readings`): enough to win over a place
#: name inside him ("… विश्वनाथन आनंद", whose surname is also a town).
TITLED_SCORE = 0.75
#: Languages whose persons are also found by the title before them (:meth:`ModelExtractor.
#: _titled_names`); English names are capitalised, and its tagger reads them.
TITLED_NAME_LANGUAGES = frozenset({"hi", "ur"})
#: A name found by its title alone is made of words the tagger's training text holds fewer
#: times than this (its frequency buckets are 1, 2, 3, 5, 20 and 100).
TITLED_NAME_RARE = 20
#: Plural and oblique endings no name has ("विशेषताएं", "वजहों", "عہدیداروں").
_PLURAL_ENDINGS = ("ों", "ओं", "ें", "एं", "وں")
_NAME_JOINS = frozenset("-‐–")


class ModelExtractor:
    """Mentions proposed by the statistical tagger, linked to the KB by name where possible.

    The tagger costs ~20 µs a token, far more than everything else in the enrichment, so it
    reads the title and the lead (``max_chars``, cut at a sentence end; 0 = the whole text);
    every name it finds there is then also marked wherever it recurs in the rest of the body
    (document-level consistency), and the knowledge base always reads the whole text. A
    name that is also a common word (a homograph alias: "उसकी सूरत", her face) must be read at
    least :data:`HOMOGRAPH_SCORE` sure, as the knowledge base's own match of it must.
    """

    def __init__(self, tagger: NerTagger, kb: KnowledgeBase, max_chars: int = 0) -> None:
        self.tagger = tagger
        self.kb = kb
        self.max_chars = max_chars

    def extract(self, field: TextField, text: str, language: str) -> list[Candidate]:
        cut = lead_cut(text, self.max_chars)
        reading = self.tagger.read(text[:cut], language)
        found = [
            Candidate(
                field,
                start,
                end,
                text[start:end],
                kind,
                "model",
                score,
                self.kb.lookup(text[start:end]),
            )
            for span in reading.spans
            if not dates.is_date_word(span.text)
            and (span.score >= HOMOGRAPH_SCORE or not self.kb.is_homograph(span.text))
            for start, end, kind, score in self._readings(text, span)
        ]
        if language in TITLED_NAME_LANGUAGES:
            tokens = reading.tokens or tokenize_words(text[:cut])
            found.extend(self._titled_names(field, text[:cut], tokens, language, found))
        if cut < len(text):
            found.extend(self._recurrences(field, text, cut, found))
        return found

    def _titled_names(
        self,
        field: TextField,
        text: str,
        tokens: Tokens,
        language: str,
        found: list[Candidate],
    ) -> list[Candidate]:
        """Persons the tagger missed right after a title or designation ("نائب وزیر خارجہ"
        + a name, "राजदूत" + a name): up to three words, each a word the tagger's training
        text holds fewer than :data:`TITLED_NAME_RARE` times (a transliterated foreign name
        mostly never), no place or organisation the knowledge base knows and no date word,
        with only spaces between them, where no other mention lies (``tokens``: the tagger's
        of ``text``)."""
        starts, ends, words, _ = tokens
        keys = self.kb.normalized(words)

        def name_word(i: int) -> bool:
            word = words[i]
            return (
                len(word) > 1
                and word[0].isalpha()
                and not word.endswith(_PLURAL_ENDINGS)
                and (i == 0 or text[ends[i - 1] : starts[i]].isspace())
                and self.tagger.frequency(word, language) < TITLED_NAME_RARE
                and self.kb.lookup(word) is None
                and not dates.is_date_word(word)
            )

        taken = [(c.start, c.end) for c in found if c.field == field]
        titled: list[Candidate] = []
        for first, stop in names.names_after_titles(keys, name_word):
            start, end = starts[first], ends[stop - 1]
            if any(low < end and start < high for low, high in taken):
                continue  # the tagger read something here
            if stop < len(words) and words[stop] in _NAME_JOINS:
                continue  # "जीन - पियरा बेम्बा": only part of a hyphenated name
            titled.append(
                Candidate(field, start, end, text[start:end], "PER", "rule", TITLED_SCORE)
            )
        return titled

    def _readings(self, text: str, span: NerSpan) -> list[tuple[int, int, EntityType, float]]:
        """What a tagger span stands for, with the people rules applied.

        A person loses his titles (or is no person at all: only titles, or a group such as a
        delegation). An organisation or place with a title inside is split: what precedes the
        title keeps its type, the name after it is a person ("… اقوام متحدہ کے سیکرٹری جنرل" +
        a name). After an honorific or a rank ("جناب", "डॉ.", "General"), an unknown short name
        is a person whatever the tagger called it, unless it names an office. A person found
        by a title is at least :data:`TITLED_SCORE` sure: the title is evidence the tagger's
        label was not.
        """
        start, end, score = span.start, span.end, span.score
        if span.type == "PER":
            bounds = self._person_bounds(text, start, end)
            return [] if bounds is None else [(*bounds, "PER", score)]
        if self.kb.lookup(span.text) is not None:
            return [(start, end, span.type, score)]
        found: list[tuple[int, int, EntityType, float]] = []
        inside = _person_after_title(span.text)
        if inside is not None:
            head_end, name_start, name_end = inside
            if head_end:
                found.append((start, start + head_end, span.type, score))
            start, end = start + name_start, start + name_end
        elif not (
            len(span.text.split()) <= 3
            and names.ends_with_honorific(text[max(0, start - 30) : start])
            and not _names_an_office(span.text)
        ):
            return [(start, end, span.type, score)]
        bounds = self._person_bounds(text, start, end)
        if bounds is not None:
            found.append((*bounds, "PER", max(score, TITLED_SCORE)))
        return found

    def _person_bounds(self, text: str, start: int, end: int) -> tuple[int, int] | None:
        """A person mention without its titles, or ``None`` if it is only titles.

        After a title, a place that the knowledge base knows is the title's, not the name's:
        ``وزیر اعلیٰ سندھ مراد علی شاہ`` (Sindh's chief minister) is the person ``مراد علی شاہ``,
        and the knowledge-base mention of ``سندھ`` then stands on its own. A name of one word
        after the place is kept whole: that may be a name that starts with a place name.
        """
        inner = _name_span(text[start:end])
        if inner is None:
            return None
        name_start, name_end = start + inner[0], start + inner[1]
        if name_end - name_start > 3 and " " in text[name_start:name_end]:
            name_start = self._after_organisation(text, name_start, name_end)
        before = text[max(0, start - 60) : start]
        if name_start == start and (
            # the place rule below needs three words or more: a shorter name keeps its bounds
            # whatever precedes it, so the title test (5 us, measured) is spared for most names
            len(text[name_start:name_end].split()) < 3
            or not names.ends_with_title(before)
            # "جناب کانو بھائی دیسائی": an honorific is no office of a place
            or names.ends_with_honorific(before)
        ):
            return name_start, name_end
        words = list(_NON_SPACE_RE.finditer(text, name_start, name_end))
        for length in (2, 1):
            if len(words) >= length + 2:
                entry = self.kb.lookup(" ".join(w.group() for w in words[:length]))
                if entry is not None and entry.type == "LOC":
                    return words[length].start(), name_end
        return name_start, name_end

    def _after_organisation(self, text: str, start: int, end: int) -> int:
        """Where a person mention's name starts once an organisation the knowledge base knows
        is cut off its front ("اقوام متحدہ" + a name is the UN and a person, never one name)."""
        words = list(_NON_SPACE_RE.finditer(text, start, end))
        for length in (3, 2, 1):
            if len(words) > length:
                entry = self.kb.lookup(" ".join(w.group() for w in words[:length]))
                if entry is not None and entry.type == "ORG":
                    return words[length].start()
        return start

    @staticmethod
    def _recurrences(
        field: TextField, text: str, cut: int, found: list[Candidate]
    ) -> list[Candidate]:
        """Later occurrences of names found in the lead, as whole words."""
        best: dict[str, Candidate] = {}
        for candidate in found:
            if (
                len(candidate.text) >= 3
                and candidate.score > best.get(candidate.text, candidate).score - 1e-9
            ):
                best[candidate.text] = candidate
        return [
            replace(candidate, start=start, end=end, score=round(candidate.score * 0.95, 4))
            for surface, candidate in best.items()
            for start, end in _whole_words(text, surface, cut)
        ]


# "Long Name (ACRONYM)": the bracket right after a mention, holding a short name.
_DEFINED_RE = re.compile(r"\s*[(（]\s*([^()（）\n]{2,30}?)\s*[)）]")
_WORD_SPLIT_RE = re.compile(r"[\s\-‐–]+")


def _initials_fit(acronym: str, name: str) -> bool:
    """Whether a Latin acronym's letters are initials of the name's words, in order (PTI for
    Pakistan Tehreek-e-Insaf; not Reuters for Karachi)."""
    letters = [c for c in acronym.upper() if c.isalpha()]
    initials = iter(w[0].upper() for w in _WORD_SPLIT_RE.split(name) if w and w[0].isalpha())
    return len(letters) >= 2 and all(any(c == i for i in initials) for c in letters)


def _defined_short_name(definition: Candidate, text: str) -> str | None:
    """The short name a linked mention defines in brackets right after it, if any."""
    match = _DEFINED_RE.match(text, definition.end)
    if match is None or definition.entry is None:
        return None
    short = match.group(1)
    if short.isascii():
        return short if short.isupper() and _initials_fit(short, definition.text) else None
    # Urdu/Hindi acronyms are letter names (آئی ایم ایف) or one short word (भाजपा): only an
    # organisation's, and shorter than its name
    words = short.split()
    if definition.type != "ORG" or len(words) > 4 or len(short) >= len(definition.text):
        return None
    return short if all(len(w) <= 8 for w in words) else None


def link_defined_names(candidates: list[Candidate], texts: dict[TextField, str]) -> list[Candidate]:
    """Short names an article defines ("Pakistan Tehreek-e-Insaf (PTI)", "बिहार विधान परिषद
    (बीविप)") stand for the linked entity everywhere in it: candidates with that text are linked
    to it, and whole-word occurrences no extractor proposed become mentions (source ``rule``)."""
    defined: dict[str, Candidate] = {}
    for candidate in candidates:
        short = _defined_short_name(candidate, texts[candidate.field])
        if short is not None and short not in defined:
            defined[short] = candidate
    if not defined:
        return candidates
    result: list[Candidate] = []
    covered: set[tuple[str, int]] = set()
    for candidate in candidates:
        definition = defined.get(candidate.text)
        if definition is not None and candidate.entry is None:
            candidate = Candidate(
                candidate.field,
                candidate.start,
                candidate.end,
                candidate.text,
                definition.type,
                candidate.source,
                max(candidate.score, definition.score * 0.9),
                definition.entry,
            )
        covered.add((candidate.field, candidate.start))
        result.append(candidate)
    for short, definition in defined.items():
        for field_name, text in texts.items():
            result.extend(
                replace(
                    definition,
                    field=field_name,
                    start=start,
                    end=end,
                    text=short,
                    source="rule",
                    score=round(definition.score * 0.9, 4),
                )
                for start, end in _whole_words(text, short)
                if (field_name, start) not in covered
            )
    return result


def _entity_type(value: str) -> EntityType:
    return value if value in ("PER", "ORG", "LOC", "MISC") else "MISC"  # type: ignore[return-value]


def _dominant_name(
    candidate: Candidate,
    candidates: list[Candidate],
    kb_spans: dict[TextField, list[tuple[int, int]]] | None = None,
) -> bool:
    """A confident tagger span that merely *contains* a knowledge-base name wins over it.

    "سارہ قریشی" (a person) must not become the town in "سارہ", nor "नयी दिल्ली" or "मुंबई
    बंदरगाह" (places) the city inside them, nor "एयर इंडिया" the country: a name is dominant
    when the KB names inside cover at most 60% of it (places too since the product evaluation
    of #19: IL-NER Hindi dev 6 names the tagger found came back, 1 lost in Urdu dev). A model
    span made mostly of knowledge-base names ("Pakistan and Russia" as one span) does not
    override them.
    ``kb_spans`` (the knowledge-base candidates' ``(start, end)`` per field, sorted) spares a
    scan of every candidate.
    """
    if candidate.source != "model" or candidate.type == "MISC" or candidate.score < 0.5:
        return False
    length = candidate.end - candidate.start
    if kb_spans is None:
        inside = [
            other.end - other.start
            for other in candidates
            if other.source == "kb"
            and other.field == candidate.field
            and candidate.start <= other.start
            and other.end <= candidate.end
            and (other.end - other.start) < length
        ]
    else:
        spans = kb_spans[candidate.field]
        inside = []
        for k in range(bisect_left(spans, (candidate.start, -1)), len(spans)):
            start, end = spans[k]
            if start > candidate.end:
                break
            if end <= candidate.end and end - start < length:
                inside.append(end - start)
    if not inside:
        return False
    # "उत्तर प्रदेश सरकार", "Punjab Police": a place and the head word of an organisation are
    # the organisation, however long the place's name
    return sum(inside) <= 0.6 * length or (
        candidate.type == "ORG" and len(inside) == 1 and _names_an_office(candidate.text)
    )


def _resolve_overlaps(candidates: list[Candidate]) -> list[Candidate]:
    """Keep non-overlapping candidates: KB evidence first, then longer, then higher score."""
    kb_spans: dict[TextField, list[tuple[int, int]]] = {"title": [], "body": []}
    for c in candidates:
        if c.source == "kb":
            kb_spans[c.field].append((c.start, c.end))
    for spans in kb_spans.values():
        spans.sort()
    dominant = {id(c) for c in candidates if _dominant_name(c, candidates, kb_spans)}
    ranked = sorted(
        candidates,
        key=lambda c: (
            id(c) not in dominant,
            c.entry is None,
            c.source != "kb",
            -(c.end - c.start),
            -c.score,
            c.start,
        ),
    )
    # per field, the kept spans (disjoint) in order: a candidate can only overlap its neighbours
    taken: dict[TextField, tuple[list[int], list[int]]] = {"title": ([], []), "body": ([], [])}
    kept: list[Candidate] = []
    for candidate in ranked:
        starts, ends = taken[candidate.field]
        at = bisect_right(starts, candidate.start)
        if (at and ends[at - 1] > candidate.start) or (
            at < len(starts) and starts[at] < candidate.end
        ):
            continue
        starts.insert(at, candidate.start)
        ends.insert(at, candidate.end)
        kept.append(candidate)
    return sorted(kept, key=lambda c: (c.field != "title", c.start))


@dataclass
class _EntityBuilder:
    id: str
    type: EntityType
    name: str
    names: dict[str, str]
    linked: bool
    mentions: list[dict[str, Any]] = field(default_factory=list)

    def build(self) -> dict[str, Any]:
        """The entity as the fields of an :class:`Entity` (validated later, all at once)."""
        score = max((m["score"] for m in self.mentions), default=0.0)
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "names": self.names,
            "mentions": self.mentions,
            "linked": self.linked,
            "score": round(score, 4),
        }


def _one_type_per_name(candidates: list[Candidate]) -> list[Candidate]:
    """An unlinked name has one type in an article: the one its mentions' scores favour (the
    rules may call "Cologne" a person in one sentence and a place in the next)."""
    votes: dict[str, dict[EntityType, float]] = {}
    for candidate in candidates:
        if candidate.entry is None:
            tally = votes.setdefault(candidate.text, {})
            tally[candidate.type] = tally.get(candidate.type, 0.0) + candidate.score
    chosen: dict[str, EntityType] = {
        text: max(tally, key=lambda kind: (tally[kind], kind))
        for text, tally in votes.items()
        if len(tally) > 1
    }
    if not chosen:
        return candidates
    return [
        replace(c, type=chosen[c.text]) if c.entry is None and c.text in chosen else c
        for c in candidates
    ]


def build_entities(candidates: Sequence[Candidate], language: str) -> list[Entity]:
    """Group candidate mentions into linked entities, in order of first mention."""
    return _ENTITIES.validate_python(entity_fields(candidates, language))


#: Validates a whole article's entities and their mentions in one call: one model at a time costs
#: Python around each (an English article, ~40 mentions and ~20 entities: 0.14 ms one by one,
#: 0.09 ms at once; Urdu: 0.036 and 0.020 ms, measured).
_ENTITIES = TypeAdapter(list[Entity])


def entity_fields(candidates: Sequence[Candidate], language: str) -> list[dict[str, Any]]:
    """:func:`build_entities` before validation: each entity as the fields of an
    :class:`Entity`, its mentions as those of a :class:`Mention`."""
    builders: dict[str, _EntityBuilder] = {}
    kept = _resolve_overlaps(_one_type_per_name(list(candidates)))
    for candidate, person in zip(kept, _people_by_surname(kept), strict=True):
        if person.entry is not None:
            entry = person.entry
            entity_id, linked = entry.id, True
            builder = builders.get(entity_id) or _EntityBuilder(
                entity_id, _entity_type(entry.type), entry.name, dict(entry.names), True
            )
        else:
            entity_id = names.entity_id(person.text, person.type, language)
            linked = False
            builder = builders.get(entity_id) or _EntityBuilder(
                entity_id,
                person.type,
                names.latin_name(person.text, language, person.type == "PER"),
                {language: person.text},
                False,
            )
        builder.linked = builder.linked or linked
        builder.mentions.append(
            {
                "field": candidate.field,
                "start": candidate.start,
                "end": candidate.end,
                "text": candidate.text,
                "source": candidate.source,
                "score": round(min(max(candidate.score, 0.0), 1.0), 4),
            }
        )
        builders[entity_id] = builder
    return [builder.build() for builder in builders.values()]


def _people_by_surname(candidates: list[Candidate]) -> list[Candidate]:
    """What each candidate's entity is made from: itself, or for a person named by one word
    that ends the full name of exactly one person in the article ("ڈار" after "اسحاق ڈار"),
    that person — linked to the knowledge base if either the full name or the surname is (the
    KB may know "जयशंकर" alone). A surname two people in the article share stays apart."""
    people: dict[str, set[str]] = {}
    full: dict[str, Candidate] = {}
    linked: dict[str, KbEntry] = {}
    for c in candidates:
        if c.type != "PER":
            continue
        words = c.text.split()
        if len(words) > 1:
            people.setdefault(words[-1], set()).add(c.entry.id if c.entry else c.text)
            full.setdefault(words[-1], c)
        elif c.entry is not None and c.entry.type == "PER":
            linked.setdefault(c.text, c.entry)
    if not full:
        return candidates
    persons: dict[str, Candidate] = {}
    for surname, names_ in people.items():
        if len(names_) == 1:
            person = full[surname]
            entry = person.entry or linked.get(surname)
            persons[surname] = replace(person, entry=entry)
    return [
        persons.get(c.text.split()[-1], c) if c.type == "PER" and c.text.strip() else c
        for c in candidates
    ]


@dataclass(frozen=True, slots=True)
class EntityStages:
    """What each step of the entity stage made of one article (:meth:`Enricher.entity_stages`).

    ``proposed``: every extractor's candidates (the tagger's already without dates and titles,
    looked up in the knowledge base); ``defined``: after :func:`link_defined_names`; ``voted``:
    after one type per unlinked name; ``kept``: the non-overlapping ones that become mentions;
    ``entities``: what :meth:`Enricher.enrich` returns.
    """

    title: str
    body: str
    language: str
    proposed: tuple[Candidate, ...]
    defined: tuple[Candidate, ...]
    voted: tuple[Candidate, ...]
    kept: tuple[Candidate, ...]
    entities: tuple[Entity, ...]


class Enricher:
    """Cleans, identifies language and date, and extracts linked entities."""

    def __init__(
        self,
        kb: KnowledgeBase | None = None,
        tagger: NerTagger | None = None,
        extractors: Sequence[Extractor] | None = None,
        max_chars: int = 200_000,
        ner_max_chars: int = 2_000,
        embedder: StaticEmbedder | None = None,
    ) -> None:
        self.kb = kb or KnowledgeBase.load()
        self.embedder = embedder or shared_embedder()
        self.tagger = tagger or NerTagger.load()
        self.extractors: list[Extractor] = list(
            extractors
            if extractors is not None
            else (
                GazetteerExtractor(self.kb, self.tagger, lead_chars=ner_max_chars),
                ModelExtractor(self.tagger, self.kb, max_chars=ner_max_chars),
            )
        )
        self.max_chars = max_chars
        # pay one-off initialisation (cld3 model, date grammar, name lexicon, the compiled
        # tokenisers' cached builds) here, not on the first article
        language.warmup()
        dates.warmup()
        names.warmup()
        word_runs("warm up")
        tokenize_words("warm up")

    def _propose(self, title: str, body: str, language: str) -> list[Candidate]:
        """Every extractor's candidates over the title, then the body."""
        candidates: list[Candidate] = []
        for extractor in self.extractors:
            for field_name, text in (("title", title), ("body", body)):
                if text:
                    candidates.extend(extractor.extract(field_name, text, language))  # type: ignore[arg-type]
        return candidates

    def entity_stages(self, raw: RawArticle) -> EntityStages:
        """The entity step of :meth:`enrich`, stage by stage, for error analysis
        (``tools/eval_ner.py --through product`` tells which stage lost a name the tagger
        found). The same calls as :meth:`enrich` on the same cleaned text and language."""
        page = clean_page(raw.body, title=raw.title, max_chars=self.max_chars)
        title, body = page.title or "", page.body
        detected = detect_language(f"{title}\n{body}", hint=raw.language_hint)
        proposed = self._propose(title, body, detected.language)
        defined = link_defined_names(proposed, {"title": title, "body": body})
        voted = _one_type_per_name(list(defined))
        return EntityStages(
            title,
            body,
            detected.language,
            tuple(proposed),
            tuple(defined),
            tuple(voted),
            tuple(_resolve_overlaps(voted)),
            tuple(build_entities(defined, detected.language)),
        )

    def enrich(self, raw: RawArticle, now: datetime | None = None) -> EnrichedArticle:
        """Enrich one raw article. Never raises on odd text: problems become ``flags``."""
        now = now or utc_now()
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            current = time.perf_counter()
            timings[name] = round((current - clock) * 1000, 3)
            clock = current

        page = clean_page(raw.body, title=raw.title, max_chars=self.max_chars)
        flags = list(page.flags)
        title = page.title or ""
        body = page.body
        lap("clean")

        detected = detect_language(f"{title}\n{body}", hint=raw.language_hint)
        lap("language")

        published_at = raw.published_at
        if published_at is None:
            published_at = extract_published_at(
                f"{page.dateline or ''}\n{body}", detected.language, now
            )
        if published_at is None:
            flags.append("no_date")
        lap("date")

        candidates = link_defined_names(
            self._propose(title, body, detected.language), {"title": title, "body": body}
        )
        entities = _ENTITIES.validate_python(entity_fields(candidates, detected.language))
        lap("entities")

        vector = article_vector(self.embedder, title, body)
        if vector is None:
            flags.append("no_vector")
        lap("vector")

        return EnrichedArticle(
            id=raw.id,
            url=raw.url,
            source=raw.source,
            title=title or None,
            body=body,
            published_at=published_at,
            ingested_at=raw.ingested_at,
            language=detected.language,
            language_confidence=round(detected.confidence, 4),
            script=detected.script,
            languages=detected.shares,
            entities=entities,
            flags=sorted(set(flags)),
            trace_id=current_trace_id(),
            timings_ms=timings,
            vector=as_list(vector),
        )
