"""Text normalisation shared by indexing, querying and entity matching.

Elasticsearch has no Urdu analyzer, and the local stand-in rejects the ICU, Arabic, Persian,
Hindi and Indic normalisation filters, so Khabar folds text in Python instead: the enrich stage
stores a normalised copy of every searchable field and the API applies the *same* function to
the query. That makes spelling variants that are common in real Urdu and Hindi news meet:

* Arabic vs Urdu code points (``ي``/``ى`` → ``ی``, ``ك`` → ``ک``, ``ه``/``ة``/``ۀ``/``ھ`` → ``ہ``),
  hamza carriers (``أ إ آ ٱ`` → ``ا``, ``ؤ`` → ``و``, ``ئ`` → ``ی``, ``ۓ`` → ``ے``);
  ``ے`` (bari ye) stays distinct from ``ی`` because Urdu contrasts them (کے / کی);
* harakat, tatweel, superscript alef and Quranic marks are removed;
* Devanagari nukta is removed (precomposed क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़ first decomposed by NFKC), so
  ज़ and ज match, and chandrabindu becomes anusvara;
* Arabic-Indic, Extended Arabic-Indic and Devanagari digits become ASCII;
* Latin is case-folded and stripped of accents (``São`` → ``sao``);
* control, zero-width (ZWJ, ZWNJ, ZWSP, BOM, soft hyphen) and bidi-override characters are removed
  and whitespace is collapsed.

One design choice to know: all four "h" shapes (``ہ ه ھ ة``) fold to ``ہ``. Older Urdu text and
Arabic-keyboard typing use ``ه`` both for gol he and for do-chashmi he, so the aspiration marker
cannot be told apart reliably; folding both costs almost no precision (بھارت and بہارت are not
different words in practice) and buys recall on every such text.

Every step is a ``str.translate`` table or a C-implemented ``str`` method, so normalising a 4 KB
article costs microseconds, and :func:`normalize_text` is idempotent.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "ASTRAL",
    "BIDI_CONTROLS",
    "ZERO_WIDTH",
    "balanced_span",
    "clean_control",
    "has_astral",
    "normalize_char_preserving",
    "normalize_text",
    "unicode_class",
]

#: Zero-width characters that change rendering, never meaning (ZWSP, ZWNJ, ZWJ, WJ, BOM, SHY).
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
#: Bidirectional formatting characters (marks, embeddings, overrides, isolates, Arabic mark).
BIDI_CONTROLS = frozenset(
    "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

# --------------------------------------------------------------------------- character classes


def unicode_class(categories: tuple[str, ...], extra: str, first: int, last: int) -> str:
    """A regex class of the code points in ``first..last`` whose Unicode category starts with
    one of ``categories`` (``("L", "M")`` = letters and marks), plus the characters in ``extra``.

    Build BMP classes (``last <= 0xFFFF``) and astral ones separately, the astral one behind
    :data:`ASTRAL`: ``re`` tests a BMP-only class with a bitmap, but a class with astral ranges
    by walking its hundreds of ranges for every character (about 12x slower on news text).
    """
    ranges: list[tuple[int, int]] = []
    for code in range(first, last + 1):
        ch = chr(code)
        if unicodedata.category(ch).startswith(categories) or ch in extra:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    parts = []
    for lo, hi in ranges:
        first_char, last_char = re.escape(chr(lo)), re.escape(chr(hi))
        parts.append(first_char if lo == hi else f"{first_char}-{last_char}")
    return "[" + "".join(parts) + "]"


#: A cheap lookahead for "the next character is astral", to put before an astral class.
_ASTRAL_CHAR = "[\U00010000-\U0010ffff]"
ASTRAL = f"(?={_ASTRAL_CHAR})"


def has_astral(text: str) -> bool:
    """Whether ``text`` has a character beyond the BMP (one fast scan).

    News text almost never has one, so tokenisers keep a twin of their pattern without the
    :data:`ASTRAL` branches (each costs a failed lookahead at every word end) and use the full
    pattern only for text that needs it.
    """
    # A character beyond the BMP is the only one that takes four bytes in UTF-16 (lone
    # surrogates take two with "surrogatepass"), and an ASCII string is known to have none:
    # 1 us on 4 KB of Urdu where the regex search took 14 us (measured).
    return not text.isascii() and len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text)


#: Arabic-script combining marks removed for search: harakat, Quranic annotation marks,
#: superscript alef, the combining hamza/madda, and tatweel (a letter, but pure decoration).
_ARABIC_MARKS = (
    [chr(c) for c in range(0x0610, 0x061B)]
    + [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640"]
    + [chr(c) for c in range(0x06D6, 0x06DD)]
    + [chr(c) for c in range(0x06DF, 0x06E5)]
    + [chr(c) for c in range(0x06E7, 0x06E9)]
    + [chr(c) for c in range(0x06EA, 0x06EE)]
    + [chr(c) for c in range(0x08D3, 0x0900)]
)

#: Arabic / Persian / Pashto / Sindhi letter variants folded to the Urdu letter.
_ARABIC_FOLD = {
    "\u064a": "\u06cc",  # ي Arabic yeh → ی
    "\u0649": "\u06cc",  # ى alef maksura → ی
    "\u06d0": "\u06cc",  # ې Pashto yeh → ی
    "\u06cd": "\u06cc",  # ۍ yeh with tail → ی
    "\u0626": "\u06cc",  # ئ yeh with hamza → ی (the decomposed ی + ٔ form loses its hamza too)
    "\u06d3": "\u06d2",  # ۓ bari ye with hamza → ے
    "\u0643": "\u06a9",  # ك Arabic kaf → ک
    "\u06aa": "\u06a9",  # ڪ swash kaf → ک
    "\u0647": "\u06c1",  # ه Arabic heh → ہ
    "\u06be": "\u06c1",  # ھ do-chashmi he → ہ (see module docstring)
    "\u06d5": "\u06c1",  # ە ae → ہ
    "\u0629": "\u06c1",  # ة teh marbuta → ہ
    "\u06c3": "\u06c1",  # ۃ teh marbuta goal → ہ
    "\u06c0": "\u06c1",  # ۀ heh with yeh above → ہ
    "\u06c2": "\u06c1",  # ۂ heh goal with hamza → ہ
    "\u0623": "\u0627",  # أ → ا
    "\u0625": "\u0627",  # إ → ا
    "\u0622": "\u0627",  # آ → ا
    "\u0671": "\u0627",  # ٱ alef wasla → ا
    "\u0672": "\u0627",  # ٲ → ا
    "\u0673": "\u0627",  # ٳ → ا
    "\u0624": "\u0648",  # ؤ → و
    "\u0676": "\u0648",  # ٶ → و
    "\u0677": "\u0648",  # ٷ → و
    "\u06c6": "\u0648",  # ۆ → و
    "\u06c7": "\u0648",  # ۇ → و
    "\u06c8": "\u0648",  # ۈ → و
    "\u06cb": "\u0648",  # ۋ → و
    "\u06cf": "\u0648",  # ۏ → و
    "\u06ab": "\u06af",  # ګ Pashto gaf → گ
    "\u06b3": "\u06af",  # ڳ → گ
    "\u0621": "",  # ء lone hamza: written inconsistently, dropped
}

#: Devanagari: nukta removed, chandrabindu → anusvara, the three NFC-stable nukta letters mapped.
_DEVANAGARI_FOLD = {
    "\u093c": "",  # nukta
    "\u0901": "\u0902",  # chandrabindu → anusvara
    "\u0929": "\u0928",  # ऩ → न
    "\u0931": "\u0930",  # ऱ → र
    "\u0934": "\u0933",  # ऴ → ळ
    "\u0970": ".",  # abbreviation sign
}

_DIGIT_BLOCKS = (0x0660, 0x06F0, 0x0966, 0x07C0, 0x09E6, 0x0A66, 0x0AE6)


def _digit_fold() -> dict[str, str]:
    fold: dict[str, str] = {}
    for block in _DIGIT_BLOCKS:
        for value in range(10):
            fold[chr(block + value)] = str(value)
    fold["\u066b"] = "."  # Arabic decimal separator
    fold["\u066c"] = ","  # Arabic thousands separator
    return fold


def _latin_accent_fold() -> dict[str, str]:
    """Accented Latin letters → their ASCII base letter (``é`` → ``e``), one char to one."""
    fold: dict[str, str] = {}
    for block in (range(0x00C0, 0x0250), range(0x1E00, 0x1F00)):
        for code in block:
            char = chr(code)
            base = unicodedata.normalize("NFD", char)[0]
            if base != char and base.isascii() and base.isalpha():
                fold[char] = base
    return fold


def _control_chars() -> list[str]:
    """C0 and C1 controls except tab and newline, plus DEL."""
    codes = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
    return [chr(c) for c in codes if chr(c) not in "\t\n"]


def _latin_combining() -> list[str]:
    return [chr(c) for c in range(0x0300, 0x0370)]


_INVISIBLE = sorted(ZERO_WIDTH | BIDI_CONTROLS)

#: ``clean_control``: delete controls (keep ``\t`` and ``\n``), zero-width and bidi characters.
_CLEAN_TABLE: dict[int, str | None] = {
    ord(c): None for c in [*_control_chars(), *_INVISIBLE] if c != "\r"
}
_CLEAN_TABLE[ord("\r")] = "\n"


def _search_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for char in [*_control_chars(), *_INVISIBLE, *_ARABIC_MARKS, *_latin_combining()]:
        table[ord(char)] = None
    for source, target in {
        **_ARABIC_FOLD,
        **_DEVANAGARI_FOLD,
        **_digit_fold(),
        **_latin_accent_fold(),
    }.items():
        table[ord(source)] = target or None
    for space in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85":
        table[ord(space)] = " "
    # Punctuation variants that carry no meaning for search.
    table[ord("\u06d4")] = "."  # Urdu full stop
    table[ord("\u060c")] = ","  # Arabic comma
    table[ord("\u061b")] = ";"  # Arabic semicolon
    table[ord("\u061f")] = "?"  # Arabic question mark
    return table


_SEARCH_TABLE = _search_table()


def _char_preserving_table() -> dict[int, str]:
    """One code point to exactly one code point: the folds that keep string length."""
    table: dict[int, str] = {}
    for source, target in {**_ARABIC_FOLD, **_DEVANAGARI_FOLD, **_digit_fold()}.items():
        if len(target) == 1:
            table[ord(source)] = target
    for source, target in _latin_accent_fold().items():
        table[ord(source)] = target.lower()
    # Precomposed Devanagari nukta letters → base letter (NFC keeps them decomposed, but
    # text may still arrive precomposed when it was never normalised).
    for code, base in zip(range(0x0958, 0x0960), "कखगजडढफय", strict=True):
        table[code] = base
    # Arabic presentation forms → the letter they present (only 1:1 compatibility mappings).
    for code in [*range(0xFB50, 0xFDFF), *range(0xFE70, 0xFEFF)]:
        mapped = unicodedata.normalize("NFKC", chr(code))
        if len(mapped) == 1 and mapped != chr(code):
            table[code] = _ARABIC_FOLD.get(mapped, mapped) or mapped
    for code in range(0x41, 0x5B):
        table[code] = chr(code + 32)
    return table


_CHAR_PRESERVING_TABLE = _char_preserving_table()


# --------------------------------------------------------------------------- public functions


def clean_control(text: str) -> str:
    """Drop C0/C1 controls (keeping ``\\n`` and ``\\t``), zero-width and bidi-override characters.

    Use before language identification or any step that must not see invisible characters;
    ``\\r`` becomes ``\\n`` so Windows line endings do not disappear into words.
    """
    return text.translate(_CLEAN_TABLE)


def normalize_text(text: str) -> str:
    """The search form of ``text``; apply it to documents *and* queries.

    NFKC, then variant folding, mark removal and Latin case folding (see the module docstring),
    then whitespace collapsed to single spaces and trimmed. Idempotent.
    """
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.translate(_SEARCH_TABLE).casefold().split())
    folded = unicodedata.normalize("NFKC", text).translate(_SEARCH_TABLE).casefold()
    # Case folding can produce characters that NFKC or the table would change again (a few
    # Greek and Cherokee letters); one more pass keeps the function idempotent on such input.
    if not unicodedata.is_normalized("NFKC", folded):
        folded = unicodedata.normalize("NFKC", folded).translate(_SEARCH_TABLE)
    return " ".join(folded.split())


def normalize_char_preserving(text: str) -> str:
    """Fold variants, case and accents one code point to one, so offsets stay valid.

    ``normalize_char_preserving(t)[i]`` corresponds to ``t[i]`` for every ``i``. Marks and
    invisible characters are *kept* (removing them would shift offsets); callers that need the
    full search form of a span apply :func:`normalize_text` to that span.
    """
    return text.translate(_CHAR_PRESERVING_TABLE)


def balanced_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` with its round brackets balanced, or ``None`` if nothing is left.

    An entity span that leaves one bracket open takes the ``)`` that follows it (after spaces):
    ``जनता दल (यूनाइटेड`` → ``जनता दल (यूनाइटेड)``. Otherwise the span is cut before its first
    bracket that has no partner, and the spaces, hyphens and commas left at its end go too.
    """
    if "(" not in text[start:end] and ")" not in text[start:end]:
        return start, end
    while start < end and (text[start] == ")" or text[start].isspace()):
        start += 1  # a bracket closed before the span began
    surface = text[start:end]
    opened: list[int] = []
    stray: int | None = None
    for k, char in enumerate(surface):
        if char == "(":
            opened.append(k)
        elif char == ")":
            if not opened:
                stray = k
                break
            opened.pop()
    if stray is None and not opened:
        return start, end
    if stray is None and len(opened) == 1:
        after = end
        while after < len(text) and text[after] == " ":
            after += 1
        if text[after : after + 1] == ")":
            return start, after + 1
    cut = min(opened[0] if opened else len(surface), len(surface) if stray is None else stray)
    end = start + cut
    while end > start and (text[end - 1].isspace() or text[end - 1] in "-,"):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return (start, end) if start < end else None
