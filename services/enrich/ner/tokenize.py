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
import unicodedata
from bisect import bisect_left
from itertools import accumulate, compress
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from shared.text import ASTRAL, has_astral, unicode_class

__all__ = [
    "MAX_SENTENCE_TOKENS",
    "Span",
    "Tokens",
    "sentence_starts",
    "sentences",
    "tokenize",
    "tokenize_words",
    "word_runs",
]

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
# The same grammar as a splitter (one group around the whole token): ``split`` returns the tokens
# at odd positions between the skipped runs, so offsets are running sums of the pieces' lengths
# (positions no token matches are exactly the skip characters). For text with astral characters.
_SPLIT_RE = re.compile(f"({_TOKEN_RE.pattern})", re.DOTALL)
_NEWLINE_RE = re.compile(r"[\n\r\u2028\u2029\x85]")
_BREAK_BEFORE, _FINAL = 1, 2
_SENTENCE_END_RE = re.compile("[" + re.escape("".join(sorted(_SENTENCE_END))) + "]")

# The grammar of _TOKEN_BMP_RE as a compiled scan over code points (text without astral
# characters): each BMP character's classes in one table, built with the same predicates as the
# regex classes (unicode_class), ``\d`` being str.isdecimal as in ``re``. On the benchmark's
# leads (title and 2 KB of body, ~400 tokens) 70 us against 135 us for the regex split with its
# offsets (measured), and it marks the tokens that follow a line break on the way.
_WORD, _DIGIT, _SKIP, _DIGIT_SEPARATOR, _NEWLINE, _KB_WORD = 1, 2, 4, 8, 16, 32


def _char_classes() -> npt.NDArray[np.uint8]:
    table = np.zeros(0x10000, dtype=np.uint8)
    for code in range(0x10000):
        char = chr(code)
        major = unicodedata.category(char)[0]
        flags = 0
        if major in "LMN" or char in _JOINERS:
            flags |= _WORD
        if char.isdecimal():
            flags |= _DIGIT
        if major in "ZC" or char in "\t\n\r\x0b\x0c":
            flags |= _SKIP
        if char in ".,:/٫٬":
            flags |= _DIGIT_SEPARATOR
        if _NEWLINE_RE.match(char):
            flags |= _NEWLINE
        if major in "LMN" or char in "\u200c\u200d\u00ad":  # shared.kb's word characters
            flags |= _KB_WORD
        table[code] = flags
    return table


_CHAR_CLASSES = _char_classes()


@njit(cache=True, nogil=True)
def _scan(
    chars: npt.NDArray[np.uint32],
    classes: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    breaks: npt.NDArray[np.uint8],
) -> int:  # pragma: no cover - compiled; covered through tokenize_words()
    """Tokens of ``chars`` into ``starts``/``ends`` (``breaks``: a line break precedes the token,
    not the first); returns their number. The alternatives in _TOKEN_BMP_RE's order: a digit
    group (the most groups after which no word character follows), a run of word characters,
    any other character that is not skipped."""
    size = chars.shape[0]
    position = 0
    count = 0
    newline = False
    while position < size:
        flags = classes[chars[position]]
        end = -1
        if flags & 2:  # digits, then groups of a separator and digits
            at = position
            while at < size and classes[chars[at]] & 2:
                at += 1
            while at + 1 < size and classes[chars[at]] & 8 and classes[chars[at + 1]] & 2:
                after = at + 1
                while after < size and classes[chars[after]] & 2:
                    after += 1
                if after == size or not classes[chars[after]] & 1:
                    end = after
                at = after
        if end < 0:
            if flags & 1:
                end = position + 1
                while end < size and classes[chars[end]] & 1:
                    end += 1
            elif flags & 4:
                if flags & 16:
                    newline = True
                position += 1
                continue
            else:
                end = position + 1
        starts[count] = position
        ends[count] = end
        breaks[count] = newline and count > 0
        newline = False
        count += 1
        position = end
    return count


@njit(cache=True, nogil=True)
def _scan_runs(
    chars: npt.NDArray[np.uint32],
    classes: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
) -> int:  # pragma: no cover - compiled; covered through word_runs()
    """Runs of knowledge-base word characters of ``chars`` into ``starts``/``ends``."""
    size = chars.shape[0]
    position = 0
    count = 0
    while position < size:
        if classes[chars[position]] & 32:
            end = position + 1
            while end < size and classes[chars[end]] & 32:
                end += 1
            starts[count] = position
            ends[count] = end
            count += 1
            position = end
        else:
            position += 1
    return count


def word_runs(text: str) -> tuple[list[int], list[int], list[str]] | None:
    """The tokens :func:`shared.kb.tokenize` finds in ``text`` (start offsets, end offsets,
    strings) by a compiled scan, for :meth:`KnowledgeBase.find_mentions`; ``None`` for text
    with astral characters (the knowledge base then splits it itself). 41 us a text against
    66 us for the knowledge base's regex split and its offsets (measured, ~1.3 K characters)."""
    if has_astral(text):
        return None
    chars = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    size = chars.shape[0]
    starts = np.empty(size, dtype=np.int64)
    ends = np.empty(size, dtype=np.int64)
    count = _scan_runs(chars, _CHAR_CLASSES, starts, ends)
    first, last = starts[:count].tolist(), ends[:count].tolist()
    return first, last, [text[start:end] for start, end in zip(first, last, strict=True)]


def tokenize(text: str) -> list[Span]:
    """Return the ``(start, end)`` offsets of every token in ``text``."""
    pattern = _TOKEN_RE if has_astral(text) else _TOKEN_BMP_RE
    return [m.span() for m in pattern.finditer(text)]


class Tokens(NamedTuple):
    """The tokens of a text: start and end offsets, the strings, and the indices of the tokens a
    line break precedes (``None``: not computed)."""

    starts: list[int]
    ends: list[int]
    words: list[str]
    breaks: list[int] | None


def tokenize_words(text: str) -> Tokens:
    """The tokens of :func:`tokenize` as start offsets, end offsets and the token strings."""
    if has_astral(text):
        pieces = _SPLIT_RE.split(text)
        offsets = [0, *accumulate(map(len, pieces))]
        return Tokens(offsets[1:-1:2], offsets[2::2], pieces[1::2], None)
    chars = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    size = chars.shape[0]
    starts = np.empty(size, dtype=np.int64)
    ends = np.empty(size, dtype=np.int64)
    breaks = np.empty(size, dtype=np.uint8)
    count = _scan(chars, _CHAR_CLASSES, starts, ends, breaks)
    first, last = starts[:count].tolist(), ends[:count].tolist()
    words = [text[start:end] for start, end in zip(first, last, strict=True)]
    return Tokens(first, last, words, np.flatnonzero(breaks[:count]).tolist())


def _abbreviation(text: str, starts: list[int], ends: list[int], first: int, i: int) -> bool:
    """Whether the full stop token ``i`` follows an abbreviation or an initial (``first`` is
    the index of the sentence's first token; ``starts``/``ends`` are the tokens' offsets)."""
    if i - first < 1 or text[starts[i]] != "." or ends[i - 1] != starts[i]:
        return False
    word = text[starts[i - 1] : ends[i - 1]]
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
        return True
    # Devanagari initials ("वी.", "एस.") and abbreviations ("डॉ."): Hindi ends sentences with "।".
    return len(word) <= 3 and "\u0900" <= word[0] <= "\u097f"


def sentences(text: str, spans: list[Span] | None = None) -> list[list[Span]]:
    """Group the tokens of ``text`` into sentences of at most ``MAX_SENTENCE_TOKENS`` tokens.

    A sentence ends after a sentence-final mark (not one ending an abbreviation), before the
    first token after a line break, and after ``MAX_SENTENCE_TOKENS`` tokens (see
    :func:`sentence_starts`).
    """
    if spans is None:
        spans = tokenize(text)
    bounds = sentence_starts(text, [s for s, _ in spans], [e for _, e in spans])
    return [spans[first:stop] for first, stop in zip(bounds, bounds[1:], strict=False)]


def sentence_starts(
    text: str,
    starts: list[int],
    ends: list[int],
    words: list[str] | None = None,
    breaks: list[int] | None = None,
) -> list[int]:
    """Where each sentence of :func:`sentences` begins (token indices), then the token count:
    sentence ``s`` is tokens ``bounds[s]:bounds[s + 1]`` (``starts``/``ends``: the tokens'
    offsets; ``words`` the tokens themselves and ``breaks`` the tokens a line break precedes,
    when the caller has them, as :func:`tokenize_words` gives them).

    Only the places a sentence can end are visited (found with two regex scans and bisection),
    not every token.
    """
    size = len(starts)
    if not size:
        return [0]
    # token index -> _BREAK_BEFORE (a line break precedes it) | _FINAL (a sentence-final mark)
    events: dict[int, int]
    if words is not None:
        # a sentence-final mark is a token of its own: one C-level pass over the tokens
        events = dict.fromkeys(
            compress(range(size), map(_SENTENCE_END.__contains__, words)), _FINAL
        )
    else:
        events = {}
        for match in _SENTENCE_END_RE.finditer(text):
            at = match.start()
            i = bisect_left(starts, at)
            if i < size and starts[i] == at and ends[i] == at + 1:
                events[i] = _FINAL
    if breaks is None:
        breaks = []
        for match in _NEWLINE_RE.finditer(text):
            i = bisect_left(starts, match.start())
            if 0 < i < size:
                breaks.append(i)
    for i in breaks:
        events[i] = events.get(i, 0) | _BREAK_BEFORE
    bounds = [0]
    first = 0
    for i in sorted(events):
        while first + MAX_SENTENCE_TOKENS <= i:
            first += MAX_SENTENCE_TOKENS
            bounds.append(first)
        if events[i] & _BREAK_BEFORE and i > first:
            first = i
            bounds.append(first)
        if events[i] & _FINAL and not _abbreviation(text, starts, ends, first, i):
            first = i + 1
            bounds.append(first)
    while first + MAX_SENTENCE_TOKENS <= size:
        first += MAX_SENTENCE_TOKENS
        bounds.append(first)
    if first < size:
        bounds.append(size)
    return bounds
