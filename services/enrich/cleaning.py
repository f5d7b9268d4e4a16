"""Strip page furniture from scraped plain-text news pages and find the real headline.

Why it is built this way: scraped pages come from many sites we have never seen, so the rules
are structural, not site templates. A news page in plain text is a *top zone* (accessibility
links, section label, headline, byline, dateline), the *article* (paragraphs: long lines that end
a sentence with ``.`` ``۔`` ``।`` ``?`` ``!`` ``؟``), and a *bottom zone* (related stories, share
widgets, menus, copyright). The signals, in order:

1. Phrase lists in English, Urdu and Hindi for whole-line furniture ("skip to content",
   "مواد پر جائیں", "सामग्री पर जाएं", "Share", "شیئر کریں", font-size switchers, ...), and
   patterns for copyright, cookie notices, photo captions, bylines, link lists ("a | b | c").
   A phrase only removes a *short* line: "share" inside a sentence is text.
2. Shape: lines with almost no letters ("x", "|"), runs of three or more very short lines
   (menus, "XS SM MD LG"), exact repeats (a headline or caption printed twice), short
   Latin-script lines at the top of a non-Latin page (bylines such as agency or author names).
3. Position: short lines before the headline are labels; short lines after the last paragraph
   are footer; after a "related stories" header, lines are a link list until a real paragraph.
4. The headline is the first medium-length line near the top that does not end a sentence,
   preferring one the page repeats; a standalone date/place line near the top is the dateline.

Everything runs in one pass over the lines with a few compiled regexes, well under a
millisecond for a 4 KB page. Input is never trusted: control characters, surrogates and binary
junk are removed (flagged), very long pages are cut at a paragraph boundary (flagged), and an
empty result is flagged rather than raised.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from services.enrich.dates import date_span

__all__ = ["CleanedPage", "clean_page", "explain"]


@dataclass(frozen=True, slots=True)
class CleanedPage:
    """A scraped page with its furniture removed."""

    title: str | None
    body: str
    dateline: str | None
    removed: tuple[str, ...]
    flags: tuple[str, ...]


# --------------------------------------------------------------------------- vocabulary

# Whole-line furniture, compared after lower-casing and removing punctuation and symbols.
_FURNITURE_PHRASES = """
accessibility links|skip to content|skip to main content|skip to navigation|jump to content|
skip navigation|main menu|menu|navigation|toggle navigation|home|homepage|search|login|log in|
sign in|sign up|register|subscribe|subscribe now|newsletter|follow us|follow us on|share|
share this|share this article|share this story|share on facebook|share on twitter|
share on whatsapp|facebook|twitter|whatsapp|telegram|linkedin|instagram|youtube|pinterest|
reddit|email|e mail|print|copy link|copy|comments|comment|leave a comment|leave a reply|
advertisement|advertisment|sponsored|ad|ads|close|next|previous|prev|next story|previous story|
next article|previous article|next post|previous post|read more|read next|read also|also read|
see also|more|load more|show more|back to top|top|related|related posts|related news|
related articles|related stories|more stories|more news|latest news|latest|trending|
trending now|most read|most popular|popular posts|popular|recommended|you may also like|
you might also like|tags|topics|categories|category|about us|about|contact us|contact|
privacy policy|privacy|terms of use|terms and conditions|terms of service|cookie policy|
disclaimer|sitemap|careers|advertise with us|advertise|listen|listen to this article|
font size|text size|a a|a a a|watch|video|videos|photos|gallery|live|live tv|breaking news|
breaking|e paper|epaper|download app|open in app|english|urdu|hindi|اردو|हिन्दी|हिंदी|
رسائی کے لنکس|مواد پر جائیں|مرکزی مواد پر جائیں|براہ راست مواد پر جائیں|مینیو|مینو|ہوم|
صفحہ اول|سرورق|تلاش|تلاش کریں|لاگ ان|شیئر|شیئر کریں|شیئر کیجیے|شئیر کریں|شیئر کیجئے|
واٹس ایپ|فیس بک|ٹوئٹر|ٹویٹر|ای میل|پرنٹ|تبصرے|تبصرہ|تبصرہ کریں|اپنی رائے دیں|اشتہار|
مزید پڑھیں|مزید|مزید خبریں|متعلقہ خبریں|متعلقہ|یہ بھی پڑھیں|یہ بھی پڑھیے|
سب سے زیادہ مقبول خبریں|مقبول خبریں|سب سے زیادہ پڑھی جانے والی|سب سے زیادہ پڑھی جانے والی خبریں|
اہم خبریں|تازہ ترین|تازہ ترین خبریں|ہمارے بارے میں|رابطہ|رابطہ کریں|ہم سے رابطہ کریں|
پرائیویسی پالیسی|رازداری کی پالیسی|فونٹ|فونٹ سائز|اگلی خبر|پچھلی خبر|اگلا|پچھلا|ویڈیو|
تصاویر|فالو کریں|ہمیں فالو کریں|سبسکرائب|سبسکرائب کریں|ٹیگز|زمرہ|کاپی لنک|لنک کاپی کریں|
سنیں|اس تحریر کو سنیں|خبر سنیں|
सामग्री पर जाएं|सामग्री पर जाएँ|मुख्य सामग्री पर जाएं|सीधे मुख्य सामग्री पर जाएं|मेन्यू|मेनू|
होम|मुखपृष्ठ|खोजें|सर्च|लॉग इन|लॉगिन|शेयर|शेयर करें|व्हाट्सएप|व्हाट्सऐप|फेसबुक|ट्विटर|
ईमेल|प्रिंट|टिप्पणी|टिप्पणियां|टिप्पणियाँ|कमेंट|कमेंट करें|विज्ञापन|और पढ़ें|आगे पढ़ें|
यह भी पढ़ें|ये भी पढ़ें|इसे भी पढ़ें|संबंधित खबरें|संबंधित ख़बरें|संबंधित समाचार|सम्बंधित खबरें|
ताज़ा खबरें|ताजा खबर|ताज़ा ख़बरें|ताजा खबरें|सबसे ज्यादा पढ़ी गई|सबसे ज़्यादा पढ़ी गईं|
सबसे ज्यादा पढ़ी गई खबरें|लोकप्रिय|ट्रेंडिंग|हमारे बारे में|संपर्क करें|संपर्क|हमसे संपर्क करें|
गोपनीयता नीति|फ़ॉन्ट|फॉन्ट|फॉन्ट साइज|अगली खबर|पिछली खबर|अगली ख़बर|पिछली ख़बर|वीडियो|
फोटो|फ़ोटो|फोटो गैलरी|फ़ोटो गैलरी|फॉलो करें|हमें फॉलो करें|सब्सक्राइब|सब्सक्राइब करें|टैग|
श्रेणी|लिंक कॉपी करें|सुनें|इस खबर को सुनें|खबर सुनें
"""
# Headers of link lists: the lines after them are other stories' headlines.
_LIST_HEADERS = """
related|related posts|related news|related articles|related stories|more stories|more news|
more from|you may also like|you might also like|recommended|recommended stories|most read|
most popular|popular posts|popular|trending|trending now|latest news|latest stories|
top stories|also read|read also|see also|read more|read next|more on this story|
مزید خبریں|متعلقہ خبریں|متعلقہ|مقبول خبریں|سب سے زیادہ مقبول خبریں|
سب سے زیادہ پڑھی جانے والی|سب سے زیادہ پڑھی جانے والی خبریں|اہم خبریں|تازہ ترین خبریں|
یہ بھی پڑھیں|یہ بھی پڑھیے|مزید پڑھیں|
संबंधित खबरें|संबंधित ख़बरें|संबंधित समाचार|सम्बंधित खबरें|सबसे ज्यादा पढ़ी गई|
सबसे ज़्यादा पढ़ी गईं|सबसे ज्यादा पढ़ी गई खबरें|ताज़ा खबरें|ताजा खबरें|ताज़ा ख़बरें|लोकप्रिय|
ट्रेंडिंग|और खबरें|अन्य खबरें|यह भी पढ़ें|ये भी पढ़ें|इसे भी पढ़ें|और पढ़ें
"""


# A short line that starts with one of these is furniture ("Also read: <other headline>").
_PREFIX_RE = re.compile(
    r"^(?:also read|read also|read more|see also|tags?|topics|filed under|follow us|"
    r"subscribe|share (?:on|this|via)|click here|download (?:the|our)|join our|"
    r"story continues|continue reading|advertisement|sponsored|"
    r"یہ بھی پڑھیں|یہ بھی پڑھیے|مزید پڑھیں|ٹیگز|شیئر کریں|یہاں کلک کریں|ہمارا واٹس ایپ|"
    r"ہمیں فالو|سبسکرائب|"
    r"यह भी पढ़ें|ये भी पढ़ें|इसे भी पढ़ें|और पढ़ें|टैग|शेयर करें|यहां क्लिक करें|यहाँ क्लिक करें|"
    r"हमें फॉलो|हमारे व्हाट्सएप|सब्सक्राइब)(?![^\W\d_])",
    re.IGNORECASE,
)
_COPYRIGHT_RE = re.compile(
    r"©|\(c\)\s*\d{4}|copyright|all rights reserved|جملہ حقوق|کاپی رائٹ|حقوق محفوظ|"
    r"सर्वाधिकार|कॉपीराइट|सभी अधिकार सुरक्षित",
    re.IGNORECASE,
)
_COOKIE_RE = re.compile(r"cookie|کوکیز|کوکی|कुकी|कुकीज़", re.IGNORECASE)
_CAPTION_RE = re.compile(
    r"فائل فوٹو|فائل تصویر|^تصویر:|فوٹو:|\bfile (?:photo|image|picture)\b|^(?:photo|image|"
    r"picture|photograph)(?: credit)?\s*:|getty images|\bphoto credit|"
    r"फ़ाइल फ़ोटो|फाइल फोटो|फ़ाइल फोटो|फाइल फ़ोटो|^फोटो\s*:|^फ़ोटो\s*:|^तस्वीर\s*:|"
    r"प्रतीकात्मक (?:तस्वीर|फोटो|फ़ोटो)|सांकेतिक (?:तस्वीर|फोटो|फ़ोटो)",
    re.IGNORECASE,
)
_BYLINE_RE = re.compile(
    r"^(?:by|written by|reported by|story by|edited by|posted by|author|reporter|"
    r"correspondent|staff reporter|our correspondent|web desk|news desk|"
    r"ویب ڈیسک|نیوز ڈیسک|نمائندہ|رپورٹ|رپورٹر|تحریر|"
    r"संवाददाता|रिपोर्ट|ब्यूरो|डेस्क|लेखक|एजेंसी)(?![^\W\d_])|"
    r"news network|news desk|web desk|ویب ڈیسک|نیوز ڈیسک|न्यूज़ डेस्क|न्यूज डेस्क|वेब डेस्क",
    re.IGNORECASE,
)
# A stamp of relative time ("Updated 5 hours ago", "3 گھنٹے پہلے", "2 घंटे पहले"): says nothing
# about the publication date the text can be trusted with, and is not article text.
_RELATIVE_TIME_RE = re.compile(
    r"^\W*(?:(?:last\s+)?updated|published|posted|اپ ?ڈیٹ|شائع|अपडेटेड|अपडेट|प्रकाशित)?\W*"
    r"(?:just now|an? (?:minute|hour|day|week) ago|\d+\s*(?:seconds?|secs?|minutes?|mins?|"
    r"hours?|hrs?|h|days?|weeks?|months?)\s+ago|\d+\s*(?:سیکنڈ|منٹ|گھنٹے|گھنٹہ|دن|ہفتے|ماہ)\s+"
    r"(?:پہلے|قبل)|\d+\s*(?:सेकंड|मिनट|घंटे|घंटा|दिन|हफ्ते|हफ़्ते|सप्ताह|महीने)\s+पहले)\W*$",
    re.IGNORECASE,
)
# Agency credit lines and print-edition notes, wherever they are: "Reporting by …; Editing by
# …", "Published in Dawn, November 26th, 2024".
_CREDIT_RE = re.compile(
    r"^(?:(?:additional )?reporting by|editing by|writing by|compiled by|with inputs from)",
    re.IGNORECASE,
)
_PRINT_EDITION_RE = re.compile(r"^published in (?:the )?[A-Z]", re.IGNORECASE)
# Calls to follow the site ("Like us on Facebook, follow @Site on Twitter").
_SOCIAL_PROMPT_RE = re.compile(
    r"\b(?:like|follow|join|subscribe to)\b[^.!?]{0,80}?\b(?:on|via) (?:facebook|twitter|x|"
    r"instagram|whatsapp|telegram|youtube|linkedin)\b|\bfollow @\w+",
    re.IGNORECASE,
)
# Literal fragments of the three patterns above: the page is searched for these first (a fast
# substring test), and only lines holding one are checked with the regular expressions.
_COPYRIGHT_KEYS = (
    "©", "(c)", "copyright", "all rights reserved", "جملہ حقوق", "کاپی رائٹ", "حقوق محفوظ",
    "सर्वाधिकार", "कॉपीराइट", "सभी अधिकार सुरक्षित",
)  # fmt: skip
_CAPTION_KEYS = (
    "فائل فوٹو", "فائل تصویر", "تصویر:", "فوٹو:", "file photo", "file image", "file picture",
    "photo", "image", "picture", "getty images", "फ़ाइल", "फाइल", "फोटो", "फ़ोटो", "तस्वीर",
)  # fmt: skip
_COOKIE_KEYS = ("cookie", "کوکی", "कुकी")
_SOCIAL_KEYS = ("facebook", "twitter", "instagram", "whatsapp", "telegram", "youtube", "linkedin",
                "@", "on x")  # fmt: skip
_URL_RE = re.compile(r"^(?:https?://|www\.)\S+$|^\S+@\S+\.\w+$", re.IGNORECASE)
_MENU_SEPARATORS_RE = re.compile(r"\s[|•·»›>/]\s|\s?\|\s?")
_MENU_CHARS_RE = re.compile(r"[|•·»›>/]")

# --------------------------------------------------------------------------- text hygiene

_JUNK_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\ufffd\ue000-\uf8ff]"
)
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_NEWLINES_RE = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
_ODD_BREAK_RE = re.compile("[\u2028\u2029\x85\x0b\x0c]")
#: Any character one of the hygiene passes below acts on ("\r", odd breaks, junk, invisible).
_HYGIENE_RE = re.compile(
    "[\r" + "".join(p.pattern[1:-1] for p in (_ODD_BREAK_RE, _JUNK_RE, _INVISIBLE_RE)) + "]"
)
# Punctuation and symbols (not letters, digits or combining vowel signs, which \W would eat).
_NOT_WORD_RE = re.compile(
    r"[\s!-/:-@\[-`{-~\u00a1-\u00bf\u00d7\u00f7\u2010-\u205e\u060c\u061b\u061f\u066a-\u066d"
    r"\u06d4\u0964\u0965\u2190-\u2bff\u3000-\u303f\ufe10-\ufe6f\uff01-\uff0f]+"
)
_LETTER_RE = re.compile(r"[^\W\d_]")
_SENTENCE_END = frozenset(".!?۔।؟…॥")
_TRAILING = "\"'”’»)]}›*"
_BINARY_RATIO = 0.1

# --------------------------------------------------------------------------- shape thresholds

_PARAGRAPH_WORDS = 12  # a line this long that ends a sentence is article text
_LONG_PARAGRAPH_WORDS = 25  # this long is article text even without final punctuation
_SHORT_WORDS = 3  # labels, menu items
_HEADLINE_MIN_WORDS = 3
_HEADLINE_MAX_WORDS = 40
_HEADLINE_MAX_CHARS = 300
_TOP_LINES = 12  # the headline is looked for among this many lines
_FALLBACK_HEADLINE_WORDS = 20
_MENU_RUN = 3
_WRAP_MIN_LINES = 3
_WRAP_MIN_WIDTH = 40
_WRAP_MAX_WIDTH = 120
_WRAP_FORCED = 0.9
_DATELINE_MAX_WORDS = 16


@dataclass(slots=True)
class _Line:
    text: str
    key: str
    words: int
    letters: int
    sentence_end: bool
    latin: bool
    furniture: str | None = None  # why the line was removed

    @property
    def paragraph(self) -> bool:
        return (self.words >= _PARAGRAPH_WORDS and self.sentence_end) or (
            self.words >= _LONG_PARAGRAPH_WORDS
        )


def _key(text: str, words: int) -> str:
    """Comparison key: case-folded with punctuation removed. Long lines (paragraphs) are only
    compared for exact repeats, so their key is the text itself, which is cheaper."""
    if words > _HEADLINE_MAX_WORDS:
        return text
    return _NOT_WORD_RE.sub(" ", text.casefold()).strip()


def _phrase_set(block: str) -> frozenset[str]:
    phrases = (p.strip() for p in block.replace("\n", "").split("|"))
    return frozenset(_key(p, len(p.split())) for p in phrases if p)


_FURNITURE = _phrase_set(_FURNITURE_PHRASES)
_FURNITURE_MAX_WORDS = max(len(p.split()) for p in _FURNITURE)
_FURNITURE_FIRST_WORDS = frozenset(p.partition(" ")[0] for p in _FURNITURE)
#: Lines of at most this many words are also furniture when they are several phrases in a row.
_PHRASE_RUN_MAX_WORDS = 8
_HEADERS = _phrase_set(_LIST_HEADERS)


def _make_line(raw: str) -> _Line | None:
    parts = raw.split()
    if not parts:
        return None
    text = " ".join(parts)
    words = len(parts)
    stripped = text.rstrip(_TRAILING + " ")
    sentence_end = bool(stripped) and stripped[-1] in _SENTENCE_END
    letters = len(_LETTER_RE.findall(text)) if words < _PARAGRAPH_WORDS else words * 3
    # Sentences of article length are never labels or headlines: they are only compared for
    # exact repeats, so their key is the text itself (saves a regex pass per paragraph).
    prose = words >= _PARAGRAPH_WORDS and sentence_end
    return _Line(
        text=text,
        key=text if prose else _key(text, words),
        words=words,
        letters=letters,
        sentence_end=sentence_end,
        latin=text.isascii(),
    )


def _truncate(text: str, max_chars: int) -> str:
    cut = text.rfind("\n\n", 0, max_chars + 1)
    if cut < max_chars // 2:
        cut = text.rfind("\n", 0, max_chars + 1)
    if cut < max_chars // 2:
        cut = text.rfind(" ", 0, max_chars + 1)
    if cut < max_chars // 2:
        cut = max_chars
    return text[:cut]


def _hygiene(text: str, max_chars: int) -> tuple[str, list[str]]:
    """Truncate, normalise line breaks, drop junk and invisible characters (each regex pass only
    runs when a cheap search says it has work to do)."""
    flags: list[str] = []
    if len(text) > max_chars:
        text = _truncate(text, max(1, max_chars))
        flags.append("truncated")
    if _HYGIENE_RE.search(text) is None:
        return text, flags  # the usual case: one scan instead of three (measured 13 us each)
    if "\r" in text or _ODD_BREAK_RE.search(text):
        text = _NEWLINES_RE.sub("\n", text)
    if _JUNK_RE.search(text):
        junk = len(_JUNK_RE.findall(text))
        if junk > _BINARY_RATIO * len(text):
            flags.append("binary_junk")
        text = _JUNK_RE.sub(" ", text)
    if _INVISIBLE_RE.search(text):
        text = _INVISIBLE_RE.sub("", text)
    return text, flags


# --------------------------------------------------------------------------- line rules


def _unwrap(raw_lines: list[str]) -> list[str]:
    """Join hard-wrapped paragraphs (plain-text wire copy wrapped at ~70 columns).

    A block of three or more consecutive lines is hard-wrapped when (nearly) every line break
    was forced: the next line's first word would not have fitted on the line within the block's
    width. That holds for greedy wrapping by construction and fails for lists of headlines and
    for scraped pages whose lines are whole paragraphs.
    """
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if len(block) >= _WRAP_MIN_LINES:
            lines = [line.strip() for line in block]
            width = max(len(line) for line in lines)
            forced = sum(
                1
                for line, following in zip(lines, lines[1:], strict=False)
                if len(line) + 1 + len(following.split(" ", 1)[0]) > width
            )
            if _WRAP_MIN_WIDTH <= width <= _WRAP_MAX_WIDTH and forced >= _WRAP_FORCED * (
                len(lines) - 1
            ):
                out.append(" ".join(lines))
                block.clear()
                return
        out.extend(block)
        block.clear()

    for raw in raw_lines:
        if raw.strip():
            block.append(raw)
        else:
            flush()
            out.append("")
    flush()
    return out


def _is_menu(line: _Line) -> bool:
    """'About Us | Contact | Privacy', 'Home > World > Asia': short items between separators."""
    if line.sentence_end and line.words > _SHORT_WORDS:
        return False
    parts = [p for p in _MENU_SEPARATORS_RE.split(line.text) if p.strip()]
    return len(parts) >= 3 and all(len(p.split()) <= 4 for p in parts)


def _furniture_reason(line: _Line, suspects: frozenset[str]) -> str | None:
    """Why a line is furniture on its own, regardless of where it is.

    ``suspects`` are the copyright/caption/cookie/social fragments present somewhere in the page.
    """
    if line.letters <= 2 and date_span(line.text) is None:
        return "no_text"
    folded = line.text.casefold() if suspects else ""
    if line.words <= 40 and _keyed(line.text, folded, suspects, _COPYRIGHT_KEYS, _COPYRIGHT_RE):
        return "copyright"
    if line.words > _PARAGRAPH_WORDS * 2:
        return None
    if line.key in _FURNITURE or line.key.replace(" ", "") in _FURNITURE:
        return "label"
    if (
        2 <= line.words <= _PHRASE_RUN_MAX_WORDS
        and line.key.partition(" ")[0] in _FURNITURE_FIRST_WORDS
        and _phrase_run(line.key)
    ):
        return "label"
    if line.words <= 15 and _PREFIX_RE.match(line.text):
        return "label"
    if line.words <= 2 and _URL_RE.match(line.text):
        return "link"
    if line.words <= 8 and not line.sentence_end and _RELATIVE_TIME_RE.match(line.text):
        return "timestamp"
    if line.words <= 30 and _CREDIT_RE.match(line.text):
        return "byline"
    if line.words <= 30 and _PRINT_EDITION_RE.match(line.text):
        return "print_edition"
    if line.words <= 40 and _keyed(line.text, folded, suspects, _SOCIAL_KEYS, _SOCIAL_PROMPT_RE):
        return "share"
    if _MENU_CHARS_RE.search(line.text) and _is_menu(line):
        return "menu"
    if _keyed(line.text, folded, suspects, _CAPTION_KEYS, _CAPTION_RE):
        return "caption"
    if (
        line.words <= 80
        and not line.paragraph
        and _keyed(line.text, folded, suspects, _COOKIE_KEYS, _COOKIE_RE)
    ):
        return "cookie"
    return None


def _keyed(
    text: str,
    folded: str,
    suspects: frozenset[str],
    keys: tuple[str, ...],
    pattern: re.Pattern[str],
) -> bool:
    """``text`` (``folded`` its casefold) holds one of ``keys`` — a fast substring test, tried
    only for keys the page has (``suspects``) — and matches ``pattern``."""
    return (
        not suspects.isdisjoint(keys)
        and any(k in folded for k in keys)
        and pattern.search(text) is not None
    )


def _phrase_run(key: str) -> bool:
    """Whether ``key`` is furniture phrases back to back ("فیس بک ٹوئٹر واٹس ایپ",
    "font size a a"): one split of its words into known phrases, found left to right."""
    words = key.split()
    # reachable[i]: words[:i] splits into phrases
    reachable = [True] + [False] * len(words)
    for end in range(1, len(words) + 1):
        for start in range(max(0, end - _FURNITURE_MAX_WORDS), end):
            if reachable[start] and " ".join(words[start:end]) in _FURNITURE:
                reachable[end] = True
                break
    return reachable[-1]


def _headline_like(line: _Line, allow_full_stop: bool = False) -> bool:
    if line.furniture is not None:
        return False
    if not _HEADLINE_MIN_WORDS <= line.words <= _HEADLINE_MAX_WORDS:
        return False
    if len(line.text) > _HEADLINE_MAX_CHARS:
        return False
    stripped = line.text.rstrip(_TRAILING + " ")
    if stripped and stripped[-1] in ".۔।" and not allow_full_stop:
        return False
    if line.letters < len(line.text) * 0.4:
        return False
    if _BYLINE_RE.search(line.text):
        return False
    span = date_span(line.text)
    return span is None or (span[1] - span[0]) < len(line.text) * 0.4


def _similar(a: str, b: str) -> bool:
    """Same text, or one a shortened/extended form of the other (page headline vs feed title):
    most words of the shorter one are in the longer one."""
    if not a or not b:
        return False
    if a == b:
        return True
    wa, wb = set(a.split()), set(b.split())
    shorter = min(len(wa), len(wb))
    return shorter >= 3 and len(wa & wb) >= 0.75 * shorter


def _mark_menu_runs(lines: list[_Line]) -> None:
    """Runs of very short lines (menus, size switchers, tag clouds) are furniture."""
    run: list[_Line] = []

    def flush() -> None:
        if len(run) >= _MENU_RUN:
            for item in run:
                item.furniture = item.furniture or "menu"
        run.clear()

    for line in lines:
        if (
            line.words <= _SHORT_WORDS
            and not line.sentence_end
            and date_span(line.text) is None
            and (line.furniture is None or line.furniture in ("label", "no_text", "menu"))
        ):
            run.append(line)
        else:
            flush()
    flush()


def _main_script_latin(lines: list[_Line]) -> bool:
    latin = sum(len(line.text) for line in lines if line.latin)
    return latin * 2 >= sum(len(line.text) for line in lines)


# --------------------------------------------------------------------------- the page


def clean_page(text: str, title: str | None = None, max_chars: int = 200_000) -> CleanedPage:
    """Headline, cleaned body, dateline and the furniture removed from a scraped page.

    ``title`` (e.g. from a feed) is kept as the title; the body is still cleaned and a body line
    repeating it is dropped. Flags: ``empty_body``, ``furniture_only``, ``truncated``,
    ``binary_junk``, ``title_inferred`` (headline found in the page), ``no_title``.
    """
    page, _lines = _analyse(text, title, max_chars)
    return page


def explain(text: str, title: str | None = None, max_chars: int = 200_000) -> list[tuple[str, str]]:
    """(role, line) for every line of the page after hygiene, for debugging the rules: role is
    ``body``, ``title``, ``dateline`` or the reason the line was removed."""
    _page, lines = _analyse(text, title, max_chars)
    return [(line.furniture or "body", line.text) for line in lines]


def _analyse(text: str, title: str | None, max_chars: int) -> tuple[CleanedPage, list[_Line]]:
    text = text if isinstance(text, str) else ""
    given_title = (" ".join(_JUNK_RE.sub(" ", title).split()) or None) if title else None
    cleaned, flags = _hygiene(text, max_chars)
    lines = [line for line in map(_make_line, _unwrap(cleaned.split("\n"))) if line is not None]
    if not lines:
        flags.append("empty_body")
        if not given_title:
            flags.append("no_title")
        return CleanedPage(given_title or None, "", None, (), tuple(flags)), lines

    _mark_furniture(lines)
    latin_page = _main_script_latin(lines)
    paragraphs = [i for i, line in enumerate(lines) if line.furniture is None and line.paragraph]
    first_para = paragraphs[0] if paragraphs else len(lines)
    _mark_link_lists(lines, first_para)
    paragraphs = [i for i in paragraphs if lines[i].furniture is None]
    last_para = paragraphs[-1] if paragraphs else -1

    headline_index = _headline(lines, given_title, paragraphs, first_para)
    title_out = given_title
    if headline_index is not None and not given_title:
        title_out = lines[headline_index].text
        flags.append("title_inferred")
    if title_out is None:
        flags.append("no_title")

    # Without a paragraph there is no top or bottom zone to place a line in: a short item (a
    # flash, a one-line note) is all text, and only what is furniture by itself is dropped.
    zoned = bool(paragraphs)
    dateline, dateline_index = _mark_top_zone(lines, first_para, headline_index, latin_page, zoned)
    if dateline is None:
        dateline = _dateline_elsewhere(lines, paragraphs)
    # Bottom zone: short lines after the last paragraph are footer.
    for i in range(last_para + 1, len(lines) if zoned else 0):
        line = lines[i]
        if line.furniture is None and i != headline_index and i != dateline_index:
            if line.words <= _SHORT_WORDS or not line.sentence_end:
                line.furniture = "footer"

    # the dateline's line leaves the body, unless it is all the text there is
    skip = {i for i in (headline_index, dateline_index if zoned else None) if i is not None}
    body_parts, removed = _body(lines, skip, title_out, first_para)
    body = "\n\n".join(body_parts)
    if not body:
        flags.append("empty_body")
        if removed:
            flags.append("furniture_only")
    if headline_index is not None:
        lines[headline_index].furniture = "title"
    if dateline_index is not None:
        lines[dateline_index].furniture = "dateline"
    return CleanedPage(title_out, body, dateline, tuple(removed), tuple(flags)), lines


def _mark_furniture(lines: list[_Line]) -> None:
    """Copyright, caption, cookie and social lines, and menu runs."""
    # Copyright, caption and cookie lines are never long paragraphs: look for their keywords
    # in the short lines only.
    folded_short = "\n".join(line.text for line in lines if line.words <= 80).casefold()
    suspects = frozenset(
        k
        for k in (*_COPYRIGHT_KEYS, *_CAPTION_KEYS, *_COOKIE_KEYS, *_SOCIAL_KEYS)
        if k in folded_short
    )
    for line in lines:
        line.furniture = _furniture_reason(line, suspects)
    _mark_menu_runs(lines)


def _mark_link_lists(lines: list[_Line], first_para: int) -> None:
    """Link lists: after a list header, lines are other stories until a real paragraph."""
    in_list = False
    for i, line in enumerate(lines):
        if line.key in _HEADERS and i > first_para:
            line.furniture = line.furniture or "related"
            in_list = True
            continue
        if in_list:
            if line.furniture is None and line.paragraph and line.words >= 15:
                in_list = False
            else:
                line.furniture = line.furniture or "related"


def _headline(
    lines: list[_Line], given_title: str | None, paragraphs: list[int], first_para: int
) -> int | None:
    """The headline's line: the first headline-like line near the top, preferring one the page
    repeats (or the line that repeats the given title)."""
    top = [
        i
        for i in range(min(len(lines), max(_TOP_LINES, first_para + 1)))
        if i <= first_para and lines[i].furniture is None
    ]
    candidates = [i for i in top if i < first_para and _headline_like(lines[i])]
    if given_title:
        title_key = _key(given_title, len(given_title.split()))
        for i in top:
            if lines[i].key == title_key or (
                _headline_like(lines[i]) and _similar(lines[i].key, title_key)
            ):
                return i
        return None
    if candidates:
        occurrences = Counter(line.key for line in lines)
        repeated = [i for i in candidates if occurrences[lines[i].key] > 1]
        return repeated[0] if repeated and repeated[0] <= candidates[0] + 3 else candidates[0]
    if top and lines[top[0]].words <= _FALLBACK_HEADLINE_WORDS and paragraphs:
        # No headline-shaped line: a short first line (a headline that ends with a full stop)
        # followed by longer article text is still the best title there is.
        first = top[0]
        later = [i for i in paragraphs if i > first]
        if (
            later
            and lines[later[0]].words > lines[first].words
            and _headline_like(lines[first], allow_full_stop=True)
        ):
            return first
    return None


def _mark_top_zone(
    lines: list[_Line],
    first_para: int,
    headline_index: int | None,
    latin_page: bool,
    zoned: bool = True,
) -> tuple[str | None, int | None]:
    """Labels before the headline and bylines are furniture; the dateline and its line. Short
    lines are labels by their place only on a ``zoned`` page (one with a paragraph)."""
    dateline: str | None = None
    dateline_index: int | None = None
    start_top = headline_index if headline_index is not None else -1
    for i in range(0, first_para):
        line = lines[i]
        if line.furniture is not None or i == headline_index:
            continue
        span = date_span(line.text)
        if span is not None and line.words <= _DATELINE_MAX_WORDS and not line.sentence_end:
            if dateline is None:
                dateline, dateline_index = line.text, i
            continue
        if zoned and i < start_top and (line.words <= _SHORT_WORDS or not line.paragraph):
            line.furniture = "label"
        elif line.words <= 8 and _BYLINE_RE.search(line.text):
            line.furniture = "byline"
        elif (
            not latin_page
            and line.latin
            and line.words <= 6
            and not line.sentence_end
            and line.letters > 0
        ):
            line.furniture = "byline"
        elif zoned and i > start_top and line.words <= _SHORT_WORDS and not line.sentence_end:
            line.furniture = "label"
    return dateline, dateline_index


def _dateline_elsewhere(lines: list[_Line], paragraphs: list[int]) -> str | None:
    """A date opening the lead, or the print-edition note at the foot ("Published in Dawn,
    …"), when the top of the page has no dateline."""
    if paragraphs:
        lead = lines[paragraphs[0]].text
        span = date_span(lead[:160])
        if span is not None:
            return lead[: span[1]].strip(" ,،:-–—")
    return next(
        (
            line.text
            for line in lines
            if line.furniture == "print_edition" and date_span(line.text) is not None
        ),
        None,
    )


def _body(
    lines: list[_Line], skip: set[int], title_out: str | None, first_para: int
) -> tuple[list[str], list[str]]:
    """The body's lines and the removed ones: the first copy of a line is kept, copies of the
    headline are dropped."""
    seen: set[str] = set()
    title_key = _key(title_out, len(title_out.split())) if title_out else ""
    body_parts: list[str] = []
    removed: list[str] = []
    for i, line in enumerate(lines):
        if i in skip:
            continue
        if line.furniture is None:
            if line.key in seen or (
                title_key
                # the length test first: it spares a regex pass per body line (~10% of cleaning)
                and abs(len(line.text) - len(title_out or "")) <= 3
                and _key(line.text, line.words) == title_key
            ):
                line.furniture = "repeat"
            elif (
                title_key
                and i < first_para
                and not line.sentence_end  # a lead sentence may paraphrase its headline
                and _similar(line.key, title_key)
            ):
                line.furniture = "repeat"
        if line.furniture is not None:
            removed.append(line.text)
            continue
        seen.add(line.key)
        body_parts.append(line.text)
    return body_parts, removed
