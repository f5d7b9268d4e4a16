"""Offset-preserving tokeniser and sentence splitter for Hindi, Urdu and English running text.

The tagger has to give exact character offsets into whatever text the enrich stage hands it, so
tokens are never normalised here: a token is only a ``(start, end)`` pair into the original string.
Normalisation for the model happens later, per distinct word, in :mod:`.features`.

Word characters are every Unicode letter, mark and digit (Devanagari vowel signs and Urdu
diacritics are marks, which ``str.isalnum`` and ``re``'s ``\\w`` would split on) plus the
zero-width (non-)joiners Urdu uses inside words.  Digit groups such as ``1,200`` or ``3.5`` stay
one token; every other punctuation or symbol character is a token of its own; control, format and
space characters only separate tokens.  Sentences end at ``. ? ! । ॥ ۔ ؟`` and at line breaks, and
very long sentences are cut so the CRF's sequences stay short.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from shared.text import ASTRAL, has_astral, unicode_class

__all__ = ["MAX_SENTENCE_TOKENS", "Span", "sentences", "tokenize"]

Span = tuple[int, int]

# Longer runs without a sentence end (tables, lists, boilerplate) are cut into pieces this long.
MAX_SENTENCE_TOKENS = 80

_SENTENCE_END = frozenset(".?!।॥۔؟")
# A full stop after these (or after a single capital letter) is an abbreviation, not an end.
_ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Dr Prof St Gen Lt Col Maj Capt Sen Rep Gov Jr Sr No Nos vs Inc Ltd Co Corp "
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Mt Ft Adm Sgt Hon Rev".split()
)
_JOINERS = "\u200c\u200d"


# Each class is split into its Basic Multilingual Plane part and its astral part (the planes up
# to U+1FFFF; for this tagger anything beyond is neither), see :func:`unicode_class`.
_WORD_BMP = unicode_class(("L", "M", "N"), _JOINERS, 0, 0xFFFF)
_WORD_ASTRAL = unicode_class(("L", "M", "N"), "", 0x10000, 0x1FFFF)
_SKIP_BMP = unicode_class(("Z", "C"), "\t\n\r\x0b\x0c", 0, 0xFFFF)
_SKIP_ASTRAL = unicode_class(("Z", "C"), "", 0x10000, 0x1FFFF)


def _token_re(word: str, run: str, skip: str) -> re.Pattern[str]:
    """The token grammar over ``word`` (one word character), ``run`` (a run of them) and
    ``skip`` (one space or control character): a digit group first (so "1,200" and "3.5" stay
    whole), then a word, then any single other visible character.  Marks/joiners cannot start a
    token only by accident of regex order: a stray combining mark at a word boundary simply
    becomes part of the following word."""
    return re.compile(rf"\d+(?:[.,:/٫٬]\d+)+(?!{word})|{run}|(?!{skip}).", re.DOTALL)


_TOKEN_RE = _token_re(
    f"(?:{_WORD_BMP}|{ASTRAL}{_WORD_ASTRAL})",
    f"(?:{_WORD_BMP}+|{ASTRAL}{_WORD_ASTRAL})+",
    f"(?:{_SKIP_BMP}|{ASTRAL}{_SKIP_ASTRAL})",
)
# The same grammar for text without astral characters, where the ASTRAL branches cannot match.
_TOKEN_BMP_RE = _token_re(_WORD_BMP, f"{_WORD_BMP}+", _SKIP_BMP)
_NEWLINE_RE = re.compile(r"[\n\r\u2028\u2029\x85]")
_BREAK_BEFORE, _FINAL = 1, 2
_SENTENCE_END_RE = re.compile("[" + re.escape("".join(sorted(_SENTENCE_END))) + "]")


def tokenize(text: str) -> list[Span]:
    """Return the ``(start, end)`` offsets of every token in ``text``."""
    pattern = _TOKEN_RE if has_astral(text) else _TOKEN_BMP_RE
    return [m.span() for m in pattern.finditer(text)]


def _abbreviation(text: str, spans: list[Span], first: int, i: int) -> bool:
    """Whether the full stop ``spans[i]`` follows an abbreviation or an initial (``first`` is
    the index of the sentence's first token)."""
    if i - first < 1 or text[spans[i][0]] != "." or spans[i - 1][1] != spans[i][0]:
        return False
    word = text[spans[i - 1][0] : spans[i - 1][1]]
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
        return True
    # Devanagari initials ("वी.", "एस.") and abbreviations ("डॉ."): Hindi ends sentences with "।".
    return len(word) <= 3 and "\u0900" <= word[0] <= "\u097f"


def sentences(text: str, spans: list[Span] | None = None) -> list[list[Span]]:
    """Group the tokens of ``text`` into sentences of at most ``MAX_SENTENCE_TOKENS`` tokens.

    A sentence ends after a sentence-final mark (not one ending an abbreviation), before the
    first token after a line break, and after ``MAX_SENTENCE_TOKENS`` tokens. Only those places
    are visited (found with two regex scans and bisection), not every token.
    """
    if spans is None:
        spans = tokenize(text)
    size = len(spans)
    if not size:
        return []
    starts = [start for start, _ in spans]
    # token index -> _BREAK_BEFORE (a line break precedes it) | _FINAL (a sentence-final mark)
    events: dict[int, int] = {}
    for match in _SENTENCE_END_RE.finditer(text):
        i = bisect_left(starts, match.start())
        if i < size and spans[i] == (match.start(), match.start() + 1):
            events[i] = _FINAL
    for match in _NEWLINE_RE.finditer(text):
        i = bisect_left(starts, match.start())
        if 0 < i < size:
            events[i] = events.get(i, 0) | _BREAK_BEFORE
    result: list[list[Span]] = []
    first = 0
    for i in sorted(events):
        while first + MAX_SENTENCE_TOKENS <= i:
            result.append(spans[first : first + MAX_SENTENCE_TOKENS])
            first += MAX_SENTENCE_TOKENS
        if events[i] & _BREAK_BEFORE and i > first:
            result.append(spans[first:i])
            first = i
        if events[i] & _FINAL and not _abbreviation(text, spans, first, i):
            result.append(spans[first : i + 1])
            first = i + 1
    while first + MAX_SENTENCE_TOKENS <= size:
        result.append(spans[first : first + MAX_SENTENCE_TOKENS])
        first += MAX_SENTENCE_TOKENS
    if first < size:
        result.append(spans[first:])
    return result
