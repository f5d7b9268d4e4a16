"""Publication date of a news article, read from its dateline.

Why it is built this way:

* **Where to look.** The publication date sits in the dateline near the top ("22 نومبر 2021",
  "14 Feb 2023 1:55 PM GMT", "Updated: 3 March 2024") or, on some sites, in a footer line.
  Dates in the body are mostly about events ("the 2019 meeting", "on 5 March the treaty..."),
  so only the top of the page and its last lines are searched, and a labelled line
  ("Published", "شائع", "प्रकाशित") anywhere. The earliest good date at the top wins; a
  "published" label beats an "updated" one.
* **A cheap grammar first, dateparser second.** Even warmed up, ``dateparser.parse`` costs about
  1 ms a call, twice the per-article budget of the whole language+cleaning+dates step. So a
  compiled regular grammar recognises the common forms (day-month-year and month-day-year with
  English, Urdu and Hindi month names and their spelling variants, ISO 8601, numeric d/m/y,
  optional time and zone) in any digits (Python's ``\\d`` matches Urdu ``۲۲`` and Hindi ``२२``)
  and builds the datetime directly. dateparser, always called with explicit languages (the
  article's language, then English for Latin-script lines) and cached, handles the remaining
  lines that look like a dateline (a 4-digit year next to a word the grammar does not know, or
  a publication label), and names the rarer time-zone abbreviations.
* **Never a guess.** A date without a year ("इस्लामाबाद، 17 नवंबर") gives ``None``: the year
  cannot be known from the text. A date later than ``now`` plus one day (time-zone slack) is
  rejected and the next candidate is tried.
* **Time zones.** The result is always timezone-aware UTC. A stated zone (GMT, PKT, IST,
  +05:00, ...) is honoured. A time without a zone is read in the publisher's likely zone from
  the language: Urdu → Pakistan (UTC+05:00), Hindi → India (UTC+05:30), anything else → UTC.
  A date without a time is midnight UTC of that calendar day, so the day an analyst sees is the
  day printed on the page (shifting it to a local midnight would move it to the previous day).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

__all__ = ["date_span", "extract_published_at", "warmup"]

FUTURE_TOLERANCE = timedelta(days=1)
MIN_YEAR = 1900
TOP_CHARS = 1500  # the dateline area: first lines of the page
TOP_LINES = 15
BOTTOM_CHARS = 400  # footers such as "Published on ..."
MAX_DATEPARSER_LINE = 80

# --------------------------------------------------------------------------- vocabulary

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january jan جنوری जनवरी",
        "february feb فروری فبروری फ़रवरी फरवरी",
        "march mar مارچ मार्च",
        "april apr اپریل अप्रैल अप्रेल",
        "may مئی مئ मई",
        "june jun جون जून",
        "july jul جولائی जुलाई",
        "august aug اگست अगस्त",
        "september sep sept ستمبر सितंबर सितम्बर",
        "october oct اکتوبر अक्टूबर अक्तूबर",
        "november nov نومبر नवंबर नवम्बर",
        "december dec دسمبر दिसंबर दिसम्बर",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH_LANGUAGE = {
    name: ("en" if name.isascii() else "hi" if "\u0900" <= name[0] <= "\u097f" else "ur")
    for name in _MONTHS
}
_MONTH_ALT = "|".join(sorted((re.escape(n) for n in _MONTHS), key=len, reverse=True))

# Zones as printed by South Asian and international outlets. IST is India Standard Time here.
_ZONES: dict[str, timedelta] = {
    "Z": timedelta(0), "UTC": timedelta(0), "GMT": timedelta(0),
    "PKT": timedelta(hours=5), "PST": timedelta(hours=-8), "PDT": timedelta(hours=-7),
    "IST": timedelta(hours=5, minutes=30), "NPT": timedelta(hours=5, minutes=45),
    "BST": timedelta(hours=1), "CET": timedelta(hours=1), "CEST": timedelta(hours=2),
    "EST": timedelta(hours=-5), "EDT": timedelta(hours=-4), "CST": timedelta(hours=-6),
    "CDT": timedelta(hours=-5), "MST": timedelta(hours=-7), "MDT": timedelta(hours=-6),
    "AFT": timedelta(hours=4, minutes=30), "IRST": timedelta(hours=3, minutes=30),
    "GST": timedelta(hours=4), "MSK": timedelta(hours=3), "JST": timedelta(hours=9),
}  # fmt: skip
# Default zone of a time printed without one, by article language.
_LANGUAGE_ZONES: dict[str, timedelta] = {
    "ur": timedelta(hours=5),
    "hi": timedelta(hours=5, minutes=30),
}

# --------------------------------------------------------------------------- grammar

_NOT_LETTER_BEFORE = r"(?<![^\W\d_])"
_NOT_LETTER_AFTER = r"(?![^\W\d_])"
_SEP = r"[\s,،\-/.]*"
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})(?!\d)\s*ء?"
# The grammar runs on case-folded lines (a case-insensitive alternation of month names is five
# times slower in Python's re), hence lower-case zone names, "am"/"pm" and ISO's "t"/"z".
_TIME = (
    r"(?:\s*(?:[,|،\-–—]|at|بجے)?\s*"
    r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?)?"
    r"(?:\s*\(?(?P<zone>z|[+\-−]\d{2}:?\d{2}|(?:utc|gmt)\s?[+\-−]\s?\d{1,2}(?::?\d{2})?|"
    r"[a-z]{2,5}(?![a-z]))\)?)?)?"
)
_DMY_RE = re.compile(
    rf"(?<!\d)(?P<day>\d{{1,2}}){_ORD}{_SEP}{_NOT_LETTER_BEFORE}(?P<month>{_MONTH_ALT})"
    rf"{_NOT_LETTER_AFTER}{_SEP}{_YEAR}{_TIME}"
)
_MDY_RE = re.compile(
    rf"{_NOT_LETTER_BEFORE}(?P<month>{_MONTH_ALT}){_NOT_LETTER_AFTER}\.?\s*"
    rf"(?P<day>\d{{1,2}})(?!\d){_ORD}{_SEP}{_YEAR}{_TIME}"
)
_ISO_RE = re.compile(
    r"(?<!\d)(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?!\d)"
    r"(?:[t\s](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<zone>z|[+\-]\d{2}:?\d{2})?)?"
)
_NUMERIC_RE = re.compile(
    r"(?<![\d/.\-])(?P<day>\d{1,2})[/.\-](?P<month>\d{1,2})[/.\-](?P<year>\d{4})(?![\d/.\-])"
    + _TIME
)
_YMD_SLASH_RE = re.compile(
    r"(?<![\d/])(?P<year>\d{4})/(?P<month>\d{1,2})/(?P<day>\d{1,2})(?![\d/])"
)
_GRAMMAR = (_ISO_RE, _DMY_RE, _MDY_RE, _NUMERIC_RE, _YMD_SLASH_RE)

# Cheap pre-filters: a line can hold a date only if it has a digit, a full date only if it has
# a four-digit year.
_DIGIT_RE = re.compile(r"\d")
_YEAR4_RE = re.compile(r"\d{4}")
_WINDOW_BEFORE = 40  # "Monday, 22nd of November " before a year
_WINDOW_AFTER = 48  # "T10:30:00+05:00", " 1:55 PM (GMT+05:30)" after it
_YEAR_HINT_RE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|(?<!\d)[۱١१]\d\d\d(?!\d)|[۲٢२]\d\d\d")

# Labels of the publication and update dates, matched in case-folded lines.
_PUBLISHED_LABELS = (
    "published", "posted", "release", "شائع", "اشاعت", "प्रकाशित", "पब्लिश", "प्रकाशन",
)  # fmt: skip
_UPDATED_LABELS = (
    "updated", "modified", "اپ ڈیٹ", "اپڈیٹ", "تازہ ترین", "अपडेट", "अद्यतन", "संशोधित",
)  # fmt: skip
_LABEL_HINTS = (
    "publish", "posted", "updated", "modified", "شائع", "اشاعت", "اپ ڈیٹ", "اپڈیٹ",
    "प्रकाशित", "पब्लिश", "प्रकाशन", "अपडेट", "अद्यतन", "संशोधित",
)  # fmt: skip
_NUMBER_RE = re.compile(r"\d+")
_LATIN_RE = re.compile(r"[A-Za-z]")
_ARABIC_RE = re.compile(r"[\u0600-\u06ff]")
_DEVANAGARI_RE = re.compile(r"[\u0900-\u097f]")


@dataclass(frozen=True, slots=True)
class _Candidate:
    when: datetime
    rank: int  # lower is better
    position: int


def _zone_offset(token: str | None) -> timedelta | None:
    """Offset of a printed zone ('GMT', 'PKT', '+05:00', 'UTC+5'), None if absent or unknown."""
    if not token:
        return None
    token = token.strip().replace("−", "-").replace(" ", "")
    upper = token.upper()
    if upper in _ZONES:
        return _ZONES[upper]
    match = re.fullmatch(r"(?:UTC|GMT)?([+\-])(\d{1,2}):?(\d{2})?", upper)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            return None
        return sign * timedelta(hours=hours, minutes=minutes)
    return _dateparser_zone(upper)


@lru_cache(maxsize=256)
def _dateparser_zone(token: str) -> timedelta | None:
    """dateparser's table of zone abbreviations, for the rarer ones."""
    if not token.isalpha():
        return None
    from dateparser.timezone_parser import pop_tz_offset_from_string

    _rest, tz = pop_tz_offset_from_string(f"x {token}")
    if tz is None:
        return None
    offset = tz.utcoffset(None)
    return offset if isinstance(offset, timedelta) else None


def _build(groups: dict[str, str | None], month: int, language: str | None) -> datetime | None:
    """A UTC datetime from matched groups, or None when the parts are not a real date."""
    try:
        year = int(groups["year"] or "")
        day = int(groups["day"] or "")
        hour_text = groups.get("hour")
        if hour_text is None:
            return datetime(year, month, day, tzinfo=UTC)
        hour = int(hour_text)
        minute = int(groups.get("minute") or 0)
        second = int(groups.get("second") or 0)
        ampm = (groups.get("ampm") or "").lower().replace(".", "").replace(" ", "")
        if ampm:
            if not 1 <= hour <= 12:
                return datetime(year, month, day, tzinfo=UTC)
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        zone_token = groups.get("zone")
        offset = _zone_offset(zone_token)
        if offset is None:
            offset = _LANGUAGE_ZONES.get(language or "", timedelta(0))
        local = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        # Not a real date (31 February, hour 25, ...): try the date alone.
        try:
            return datetime(int(groups["year"] or ""), month, int(groups["day"] or ""), tzinfo=UTC)
        except (ValueError, OverflowError):
            return None


def _year_windows(folded: str) -> list[tuple[int, int]]:
    """Stretches of the line around each 4-digit number: the grammar only runs there, which
    keeps long lines cheap."""
    windows: list[tuple[int, int]] = []
    for match in _YEAR4_RE.finditer(folded):
        lo = max(0, match.start() - _WINDOW_BEFORE)
        hi = min(len(folded), match.end() + _WINDOW_AFTER)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], hi)
        else:
            windows.append((lo, hi))
    return windows


def _grammar_dates(line: str, language: str | None) -> list[tuple[int, datetime, str]]:
    """(offset in line, datetime, month language) for every date the grammar finds."""
    found: list[tuple[int, datetime, str]] = []
    if not _YEAR4_RE.search(line):
        return found
    folded = line.casefold()
    taken: list[tuple[int, int]] = []
    for pattern, (lo, hi) in (
        (pattern, window) for window in _year_windows(folded) for pattern in _GRAMMAR
    ):
        for match in pattern.finditer(folded, lo, hi):
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                continue
            groups = match.groupdict()
            month_text = groups["month"] or ""
            if month_text.isdigit():
                month, month_language = int(month_text), ""
            else:
                key = month_text
                month = _MONTHS.get(key, 0)
                month_language = _MONTH_LANGUAGE.get(key, "")
            if not 1 <= month <= 12:
                continue
            when = _build(groups, month, language)
            if when is not None:
                taken.append((start, end))
                found.append((start, when, month_language))
    return found


# --------------------------------------------------------------------------- dateparser fallback

_DATEPARSER_SETTINGS: dict[str, Any] = {
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TO_TIMEZONE": "UTC",
    "TIMEZONE": "UTC",
    "PREFER_DATES_FROM": "past",
    "REQUIRE_PARTS": ["day", "month", "year"],
    "STRICT_PARSING": True,
}
_DATEPARSER_LANGUAGES = frozenset(
    "en ur hi fa ar ps bn pa gu mr ne ta te de fr es it pt ru tr id".split()
)


def _line_languages(line: str, language: str | None) -> tuple[str, ...]:
    languages: list[str] = []
    if _DEVANAGARI_RE.search(line):
        languages.append("hi" if language not in ("mr", "ne") else language or "hi")
    if _ARABIC_RE.search(line):
        languages.append(language if language in ("ur", "fa", "ar", "ps") else "ur")
    if language and language in _DATEPARSER_LANGUAGES and language not in languages:
        languages.append(language)
    if _LATIN_RE.search(line) and "en" not in languages:
        languages.append("en")
    return tuple(languages) or ("en",)


@lru_cache(maxsize=4096)
def _dateparser_parse(line: str, languages: tuple[str, ...]) -> datetime | None:
    import dateparser

    try:
        result = dateparser.parse(line, languages=list(languages), settings=_DATEPARSER_SETTINGS)
    except Exception:  # dateparser raises assorted errors on odd input; a miss is not fatal
        return None
    if not isinstance(result, datetime):
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result.astimezone(UTC)


def _labelled(line: str) -> bool:
    folded = line.casefold()
    return any(label in folded for label in (*_PUBLISHED_LABELS, *_UPDATED_LABELS))


def _strip_label(line: str) -> str:
    """The part of a labelled line after its label ("Updated: 3 March 2024" -> "3 March 2024")."""
    for sep in (":", "：", "|", "-"):
        head, found, tail = line.partition(sep)
        if found and len(head) <= 30 and _labelled(head):
            return tail.strip()
    return line.strip()


# A day and month without a year ("17 नवंबर", "Nov 17"), and a time with a zone or AM/PM: enough
# to recognise a dateline line, not enough to date the article.
_DAY_MONTH_RE = re.compile(
    rf"(?<!\d)\d{{1,2}}{_ORD}{_SEP}{_NOT_LETTER_BEFORE}(?:{_MONTH_ALT}){_NOT_LETTER_AFTER}|"
    rf"{_NOT_LETTER_BEFORE}(?:{_MONTH_ALT}){_NOT_LETTER_AFTER}\.?\s*\d{{1,2}}(?!\d)"
)
_CLOCK_RE = re.compile(r"(?<!\d)\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?|gmt|utc|pkt|ist)(?![a-z])")


def date_span(line: str) -> tuple[int, int] | None:
    """Span of the first date-like expression in ``line`` (a full date, a day and month without
    year, or a clock time with AM/PM or a zone), or None. Used to recognise dateline lines."""
    if not _DIGIT_RE.search(line):
        return None
    best: tuple[int, int] | None = None
    folded = line.casefold()
    for pattern in (*_GRAMMAR, _DAY_MONTH_RE, _CLOCK_RE):
        match = pattern.search(folded)
        if match and (best is None or match.start() < best[0]):
            best = match.span()
    return best


# --------------------------------------------------------------------------- extraction


def _lines_with_offsets(text: str, base: int = 0) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    offset = base
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            lines.append((offset, stripped))
        offset += len(raw) + 1
    return lines


def _fallback_worthy(line: str, labelled: bool) -> bool:
    """Whether a line the grammar could not date deserves a (slow) dateparser call: a short
    labelled line, or a very short line with a year and another number (a dateline in a form
    the grammar does not know), never a headline that merely mentions a year."""
    if len(line) > MAX_DATEPARSER_LINE or not _YEAR_HINT_RE.search(line):
        return False
    if labelled:
        return True
    return len(line.split()) <= 6 and len(_NUMBER_RE.findall(line)) >= 2


def _candidates(
    lines: list[tuple[int, str]], language: str | None, base_rank: int
) -> list[_Candidate]:
    out: list[_Candidate] = []
    for position, line in lines:
        if not _DIGIT_RE.search(line):
            continue
        folded = line.casefold()
        published = any(label in folded for label in _PUBLISHED_LABELS)
        updated = not published and any(label in folded for label in _UPDATED_LABELS)
        label_rank = 0 if published else 2 if updated else 1
        found = _grammar_dates(line, language)
        if not found and _fallback_worthy(line, published or updated):
            when = _dateparser_parse(_strip_label(line), _line_languages(line, language))
            if when is not None:
                found = [(0, when, "")]
        for offset, when, _month_language in found:
            out.append(_Candidate(when, base_rank + label_rank, position + offset))
    return out


def _choose(candidates: list[_Candidate], now: datetime) -> datetime | None:
    limit = now + FUTURE_TOLERANCE
    good = [c for c in candidates if MIN_YEAR <= c.when.year and c.when <= limit]
    if not good:
        return None
    return min(good, key=lambda c: (c.rank, c.position)).when


def extract_published_at(text: str, language: str | None, now: datetime) -> datetime | None:
    """The publication date in ``text``'s dateline as an aware UTC datetime, or None.

    ``language`` (ISO 639-1, e.g. from :func:`services.enrich.language.detect_language`) picks
    dateparser's language and the zone of a time printed without one. ``now`` bounds the
    result: nothing later than ``now`` plus one day is returned. Pass the page text with its
    dateline (e.g. the cleaned page's ``dateline`` followed by its body).
    """
    if not text or not _DIGIT_RE.search(text):
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    language = (language or "").split("-", 1)[0].lower() or None
    top = _lines_with_offsets(text[:TOP_CHARS])[:TOP_LINES]
    found = _choose(_candidates(top, language, 0), now)
    if found is not None or len(text) <= TOP_CHARS:
        return found
    top_end = top[-1][0] + len(top[-1][1]) if top else 0
    rest = text[top_end:]
    candidates: list[_Candidate] = []
    folded = rest.casefold()
    if any(label in folded for label in _LABEL_HINTS):
        labelled = [
            (p, line)
            for p, line in _lines_with_offsets(rest, top_end)
            if len(line) <= MAX_DATEPARSER_LINE * 2 and _labelled(line)
        ]
        candidates += _candidates(labelled, language, 10)
    bottom_start = max(top_end, len(text) - BOTTOM_CHARS)
    bottom = _lines_with_offsets(text[bottom_start:], bottom_start)
    candidates += _candidates(bottom[1:] if bottom_start > top_end else bottom, language, 20)
    return _choose(candidates, now)


def warmup() -> None:
    """Import dateparser and load its en/ur/hi data now rather than on the first article."""
    for line, languages in (
        ("3 March 2024 10:00", ("en",)),
        ("22 نومبر 2021", ("ur",)),
        ("17 नवंबर 2022", ("hi",)),
    ):
        _dateparser_parse(line, languages)
    _dateparser_parse.cache_clear()
    _dateparser_zone("CEST")


_NUKTA = "\u093c"
_DATE_WORDS = frozenset(
    name.replace(_NUKTA, "")
    for name in [
        *_MONTHS,
        *"monday tuesday wednesday thursday friday saturday sunday".split(),
        *"پیر منگل بدھ جمعرات جمعہ ہفتہ اتوار".split(),
        *"सोमवार मंगलवार बुधवार गुरुवार शुक्रवार शनिवार रविवार".split(),
    ]
)


def is_date_word(text: str) -> bool:
    """True for a month or weekday name in any of our languages (never an entity)."""
    return text.strip().casefold().replace(_NUKTA, "") in _DATE_WORDS
