"""Language and script identification for news text (Urdu, Hindi, English and neighbours).

Why it is built this way:

* **pycld2 first.** CLD2 is accurate on whole articles (100 % on the 13 NTREX languages we
  measured) and costs ~0.1 ms per 4 KB, and its per-chunk vectors give each language's share
  of a mixed article. It raises on bytes that are not "interchange-valid" UTF-8 (C0/C1 control
  characters, surrogates, Unicode non-characters), so the text is sanitised first and any
  remaining error falls back to a stricter filter: detection never crashes.
* **Romanised Hindi/Urdu is handled separately.** CLD2 has no model for Hindustani written in
  Latin script ("Pakistan aur Russia ne ittefaq kiya" comes out as pig latin or Finnish). For
  Latin-script text we count distinctive Hindustani function words (aur, ne, ki, hai, mein, ...)
  against English function words; CLD3 (``gcld3``), which knows ``hi-Latn``, decides the grey
  zone. Romanised Hindustani is reported as ``hi`` unless the hint says ``ur`` or Urdu-leaning
  (Perso-Arabic) vocabulary clearly dominates Sanskrit-leaning vocabulary: in Latin letters the
  two registers are one spoken language, so this split is a best effort.
* **Script by UTF-8 lead bytes.** Counting characters per Unicode block on the UTF-8 encoding
  (``bytes.count`` of lead-byte patterns) is ~20x faster than a regex or a Python loop over
  characters, and script only needs block granularity.
* **Priors for short text.** On a few words CLD2 confuses close neighbours (Hindi vs Bihari,
  Marathi, Nepali; Urdu vs Persian). When CLD2 is not sure, a language in the same script that
  is the caller's hint, or one of the project's main languages (ur, hi, en), wins if CLD2 lists
  it among its candidates; a language whose script contradicts the text's script is rejected.

Language codes are ISO 639-1 where one exists (retired codes such as ``iw``/``in``/``ji`` are
mapped to ``he``/``id``/``yi``), else ISO 639-3, and ``und`` when unknown. Dari (NTREX ``prs``)
is reported as ``fa``: Dari is a variety of Persian, the 639-1 code ``fa`` denotes the Persian
macrolanguage (``fas``) that includes both Iranian Persian (``pes``) and Dari (``prs``), and
written news in the two is not reliably separable by character statistics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import gcld3  # type: ignore[import-untyped]  # no type stubs shipped with cld3-py
import pycld2

from shared.models import LanguageShare

__all__ = ["LanguageResult", "detect_language", "detect_script", "warmup"]


@dataclass(frozen=True, slots=True)
class LanguageResult:
    """The main language of a text, its script, how sure we are, and each language's share."""

    language: str
    script: str
    confidence: float
    shares: list[LanguageShare]


UNKNOWN_LANGUAGE = "und"
UNKNOWN_SCRIPT = "Zyyy"

# --------------------------------------------------------------------------- sanitising

# Code points CLD2 rejects as not interchange-valid (C0 controls except tab/newline/CR, DEL and
# C1 controls, surrogates from surrogateescape-decoded bytes, BMP non-characters) and invisible
# format characters that carry no language signal (zero-width space/joiners, bidi controls, BOM,
# soft hyphen). Removed only from the copy given to the detectors. Non-characters outside the
# BMP (U+1FFFE, ...) are rare and left to the strict fallback, which keeps this class fast.
_INVALID_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    "\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+"
)


# Invisible characters are removed when the start of the text shows any (they are common in
# pages copied from editors); elsewhere they only cost CLD2 a little accuracy.
_ODD_CHAR_RE = _INVALID_RE
_ODD_PROBE_CHARS = 600


def _sanitise(text: str) -> str:
    """Text that CLD2 accepts (almost always): invalid and invisible code points removed."""
    if _INVALID_RE.search(text) is None:
        return text
    return _INVALID_RE.sub(" ", text)


def _strict_sanitise(text: str) -> str:
    """Last resort when CLD2 still refuses the text: keep printable characters and spaces, and
    drop the non-characters of every plane."""
    return "".join(ch if ch.isprintable() and (ord(ch) & 0xFFFE) != 0xFFFE else " " for ch in text)


# --------------------------------------------------------------------------- scripts

# UTF-8 byte patterns that start a character of each script (2-byte sequences are identified by
# their lead byte, 3-byte ones by the lead byte and the first continuation byte).
_SCRIPT_BYTES: dict[str, tuple[bytes, ...]] = {
    "Latn": tuple(bytes([b]) for b in range(0xC3, 0xCA))
    + tuple(b"\xe1" + bytes([b]) for b in (0xB8, 0xB9, 0xBA, 0xBB)),
    "Grek": (b"\xce", b"\xcf"),
    "Cyrl": (b"\xd0", b"\xd1", b"\xd2", b"\xd3"),
    "Armn": (b"\xd5",),
    "Hebr": (b"\xd7",),
    "Arab": (b"\xd8", b"\xd9", b"\xda", b"\xdb", b"\xdd")
    + tuple(b"\xef" + bytes([b]) for b in range(0xAD, 0xB8))
    + (b"\xef\xb9", b"\xef\xba", b"\xef\xbb"),
    "Syrc": (b"\xdc",),
    "Thaa": (b"\xde",),
    "Deva": (b"\xe0\xa4", b"\xe0\xa5"),
    "Beng": (b"\xe0\xa6", b"\xe0\xa7"),
    "Guru": (b"\xe0\xa8", b"\xe0\xa9"),
    "Gujr": (b"\xe0\xaa", b"\xe0\xab"),
    "Orya": (b"\xe0\xac", b"\xe0\xad"),
    "Taml": (b"\xe0\xae", b"\xe0\xaf"),
    "Telu": (b"\xe0\xb0", b"\xe0\xb1"),
    "Knda": (b"\xe0\xb2", b"\xe0\xb3"),
    "Mlym": (b"\xe0\xb4", b"\xe0\xb5"),
    "Sinh": (b"\xe0\xb6", b"\xe0\xb7"),
    "Thai": (b"\xe0\xb8", b"\xe0\xb9"),
    "Laoo": (b"\xe0\xba", b"\xe0\xbb"),
    "Tibt": (b"\xe0\xbc", b"\xe0\xbd", b"\xe0\xbe", b"\xe0\xbf"),
    "Mymr": (b"\xe1\x80", b"\xe1\x81", b"\xe1\x82"),
    "Geor": (b"\xe1\x83", b"\xe1\x82\xa0"),
    "Ethi": tuple(b"\xe1" + bytes([b]) for b in range(0x88, 0x8E)),
    "Khmr": (b"\xe1\x9e", b"\xe1\x9f"),
    "Kana": (b"\xe3\x82", b"\xe3\x83"),
    "Hira": (b"\xe3\x81",),
    "Hani": tuple(bytes([b]) for b in range(0xE4, 0xEA)),
    "Hang": (b"\xea\xb0", b"\xeb", b"\xec", b"\xed\x80", b"\xed\x9e"),
}
# Everything that is not an ASCII letter, for counting ASCII letters with bytes.translate.
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))
# Everything that is not a UTF-8 lead byte of a multi-byte character.
_NOT_LEAD_BYTE = bytes(b for b in range(256) if not 0xC2 <= b <= 0xF4)
# Only this much of a long text is looked at for its script (spread over the text).
_SCRIPT_SAMPLE_CHARS = 900


def _script_counts(data: bytes) -> dict[str, int]:
    """Characters per script in UTF-8 ``data``, by lead-byte patterns."""
    counts: dict[str, int] = {}
    ascii_letters = len(data.translate(None, _NOT_ASCII_LETTER))
    if ascii_letters:
        counts["Latn"] = ascii_letters
    if data.isascii():
        return counts
    present = set(data.translate(None, _NOT_LEAD_BYTE))
    for script, patterns in _SCRIPT_BYTES.items():
        n = 0
        for pattern in patterns:
            if pattern[0] in present:
                n += data.count(pattern)
        if n:
            counts[script] = counts.get(script, 0) + n
    return counts


def _sample(text: str, size: int) -> str:
    """Up to ``size`` characters taken from the start, middle and end of ``text``."""
    if len(text) <= size:
        return text
    third = size // 3
    mid = len(text) // 2
    return text[:third] + " " + text[mid - third // 2 : mid + third // 2] + " " + text[-third:]


def _dominant_script(counts: dict[str, int]) -> str:
    if not counts:
        return UNKNOWN_SCRIPT
    best = max(counts, key=lambda s: counts[s])
    if best in ("Hani", "Hira", "Kana") and ("Hira" in counts or "Kana" in counts):
        return "Jpan"
    return best


def detect_script(text: str) -> str:
    """ISO 15924 code of the script most of the letters of ``text`` are in (``Zyyy`` if none).

    Han mixed with kana is reported as ``Jpan``.
    """
    data = _sample(text, _SCRIPT_SAMPLE_CHARS).encode("utf-8", "surrogatepass")
    return _dominant_script(_script_counts(data))


# --------------------------------------------------------------------------- codes

# CLD2 codes that are retired or not language codes, mapped to what the contract wants.
_CODE_MAP = {
    "iw": "he",
    "in": "id",
    "ji": "yi",
    "jw": "jv",
    "mo": "ro",
    "bh": "bih",  # 'bh' (Bihari) was withdrawn from ISO 639-1; 'bih' is the collective code
    "un": UNKNOWN_LANGUAGE,
    "xxx": UNKNOWN_LANGUAGE,
}
_CODE_RE = re.compile(r"^[a-z]{2,3}$")

# The script each language is written in when it is not Latin (for rejecting CLD2 answers that
# contradict the text, and for the priors below). Languages not listed are Latin script.
_LANGUAGE_SCRIPT = {
    "ur": "Arab", "fa": "Arab", "ar": "Arab", "ps": "Arab", "sd": "Arab", "ug": "Arab",
    "ku": "Arab", "ckb": "Arab", "ks": "Arab", "yi": "Hebr", "he": "Hebr",
    "hi": "Deva", "mr": "Deva", "ne": "Deva", "sa": "Deva", "bih": "Deva", "bho": "Deva",
    "mai": "Deva", "new": "Deva", "kok": "Deva",
    "bn": "Beng", "as": "Beng", "pa": "Guru", "gu": "Gujr", "or": "Orya", "ta": "Taml",
    "te": "Telu", "kn": "Knda", "ml": "Mlym", "si": "Sinh", "th": "Thai", "lo": "Laoo",
    "bo": "Tibt", "dz": "Tibt", "my": "Mymr", "ka": "Geor", "am": "Ethi", "ti": "Ethi",
    "km": "Khmr", "ru": "Cyrl", "uk": "Cyrl", "bg": "Cyrl", "sr": "Cyrl", "mk": "Cyrl",
    "be": "Cyrl", "kk": "Cyrl", "ky": "Cyrl", "mn": "Cyrl", "tg": "Cyrl", "el": "Grek",
    "hy": "Armn", "dv": "Thaa", "syr": "Syrc", "zh": "Hani", "ja": "Jpan", "ko": "Hang",
}  # fmt: skip
# The language assumed for a script when nothing better is known: the project's main languages
# for their scripts, and the dominant language of a few single-language scripts.
_SCRIPT_DEFAULT = {
    "Arab": "ur", "Deva": "hi", "Latn": "en", "Beng": "bn", "Guru": "pa", "Gujr": "gu",
    "Orya": "or", "Taml": "ta", "Telu": "te", "Knda": "kn", "Mlym": "ml", "Sinh": "si",
    "Thai": "th", "Laoo": "lo", "Mymr": "my", "Geor": "ka", "Khmr": "km", "Grek": "el",
    "Armn": "hy", "Thaa": "dv", "Hang": "ko", "Jpan": "ja", "Hira": "ja", "Kana": "ja",
    "Hani": "zh",
}  # fmt: skip


def _normalise_code(code: str) -> str:
    """An ISO 639 code from a CLD2/CLD3 code ('zh-Hant' -> 'zh', 'iw' -> 'he', 'un' -> 'und')."""
    base = code.split("-", 1)[0].lower()
    base = _CODE_MAP.get(base, base)
    if base.startswith("zz") or not _CODE_RE.match(base):
        return UNKNOWN_LANGUAGE
    return base


def _script_of(language: str) -> str:
    return _LANGUAGE_SCRIPT.get(language, "Latn")


def _compatible(language: str, script: str) -> bool:
    lang_script = _script_of(language)
    if lang_script == script:
        return True
    return {lang_script, script} <= {"Hani", "Jpan", "Hira", "Kana"}


# --------------------------------------------------------------------------- romanised Hindustani

# Function words and very common words of Hindustani written in Latin letters, chosen to be rare
# as English words (no "to", "is", "the", "me", "in", "us", "main", "do", "or", "hi", "na").
_HINDUSTANI_WORDS = frozenset(
    """
    hai hain hay hein hy ka ki ke kay ko ne se say mein mei mai aur bhi nahi nahin nahee nai kya
    kyun kyon kyunki kyonki kiya kiye kia kie gaya gayi gai gaye gae raha rahi rahe rahay tha thi
    the thay thin yeh ye yah woh wo vah voh hum ham aap apne apni apna unhone unhon unka unki unke
    inka inki inke iska iski iske uska uski uske liye liya lie lekin magar saath sath wala wali
    wale vala vali vale kuch kuchh sab bahut bohat bohot abhi jab tab kab kaise kaisa kaisi agar
    diya diye hua hui hue huye karne karna karte karti karta kaha kahaa hota hoti hote sakta sakte
    sakti chahiye chahie jaise sirf dono donon aaj tak taraf baad pehle pahle dauran baare hoga
    hogi honge jayega jaega jaegi jayegi wahan yahan kahan koi kisi kaun kitna kitne hamare hamara
    hamari tumhara mujhe humein hamein unhein unhe inhe jis jin jinhone ek par pe ho kar kr ker
    lekar dekar hue rahaa hamko unko inko isko usko mujhko yeh kyunke kyuki bhai ji
    """.split()
) - {"the"}
_ENGLISH_WORDS = frozenset(
    """
    the of and to in is that for on with as was by at it from has have be are were this which an
    said will not but they their been would or he she his her its also who after more than about
    into over said out up new one two year years had we you our can all there when what
    """.split()
)
# Register cues that separate Urdu-leaning from Hindi-leaning romanised text.
_URDU_LEANING = frozenset(
    """
    hukumat hukoomat wazir wazeer azam mulk awam ittefaq ittifaq muzakrat muzakarat taluqat
    taaluqat sadr khitab ijlas mutabiq zariye zariya dehshatgardi dehshat gardi muamla muamlay
    masla masail idara idaray intikhabat siyasi siyasat fauj foj shehri shahri adalat khabar
    khabrein janib hawale hawalay waqt wazarat wazir-e-azam pakistani aisa ilawa bawajood
    maujooda mojooda tehqiqat sarmaya maeeshat muashi insaf aman amn jang aqwam
    """.split()
)
_HINDI_LEANING = frozenset(
    """
    pradhan mantri rashtrapati yojana yojanaon vibhag desh chunav samachar sambandh suraksha sena
    nagrik varsh lagbhag dwara anusar kshetra vikas neeti niti samiti adhyaksh sansad rajya nirnay
    sarkari prashasan aatankwad atankwad aatankvad sahyog vyapar arthvyavastha bharat bharatiya
    kendra pradesh shiksha swasthya chetavani mausam kisan kisanon
    """.split()
)
_LATIN_WORD_RE = re.compile(r"[a-z]+(?:-[a-z]+)*")
_ROMAN_SAMPLE_CHARS = 1200
_HINDUSTANI_MIN_RATIO = 0.15
_HINDUSTANI_GREY_RATIO = 0.06


def _romanised_hindustani(text: str, hint: str | None) -> tuple[str, float] | None:
    """(``hi``/``ur``, confidence) when Latin-script ``text`` reads as Hindustani, else None."""
    words = _LATIN_WORD_RE.findall(text[:_ROMAN_SAMPLE_CHARS].lower())
    if not words:
        return None
    hu = 0
    en = 0
    for word in words:
        if word in _HINDUSTANI_WORDS:
            hu += 1
        elif word in _ENGLISH_WORDS:
            en += 1
    ratio = hu / len(words)
    if hu == 0 or hu <= en:
        return None
    confidence: float
    if ratio >= _HINDUSTANI_MIN_RATIO and hu >= min(2, len(words)):
        confidence = min(0.99, 0.6 + ratio)
    elif ratio >= _HINDUSTANI_GREY_RATIO:
        label, probability = _cld3(text)
        if label != "hi-Latn":
            return None
        confidence = min(0.95, 0.5 + probability / 2)
    else:
        return None
    if hint in ("hi", "ur"):
        return hint, confidence
    urdu = sum(1 for w in words if w in _URDU_LEANING)
    hindi = sum(1 for w in words if w in _HINDI_LEANING)
    return ("ur" if urdu > hindi else "hi"), confidence


@lru_cache(maxsize=1)
def _cld3_identifier() -> Any:
    return gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)


def _cld3(text: str) -> tuple[str, float]:
    result = _cld3_identifier().FindLanguage(text[:1000])
    return str(result.language), float(result.probability)


# --------------------------------------------------------------------------- CLD2

_CLD2_LANGUAGES = frozenset(code for _name, code in pycld2.LANGUAGES)


@dataclass(frozen=True, slots=True)
class _Verdict:
    reliable: bool
    text: str  # the text CLD2 accepted (the spans' byte offsets refer to it)
    top: tuple[tuple[str, int, float], ...]  # (code, percent of bytes, normalised score)
    spans: tuple[tuple[int, int, str], ...]  # (byte offset, byte length, code)


def _cld2(text: str, hint: str | None) -> _Verdict:
    kwargs: dict[str, Any] = {"bestEffort": True, "returnVectors": True}
    if hint and hint in _CLD2_LANGUAGES:
        kwargs["hintLanguage"] = hint
    try:
        reliable, _nbytes, details, vectors = pycld2.detect(text, **kwargs)
    except (pycld2.error, UnicodeError):
        text = _sanitise(text)
        try:
            reliable, _nbytes, details, vectors = pycld2.detect(text, **kwargs)
        except (pycld2.error, UnicodeError):
            text = _strict_sanitise(text)
            reliable, _nbytes, details, vectors = pycld2.detect(text, **kwargs)
    top = tuple(
        (_normalise_code(code), int(percent), float(score))
        for _name, code, percent, score in details
    )
    spans = tuple((int(o), int(n), _normalise_code(code)) for o, n, _name, code in vectors)
    return _Verdict(bool(reliable), text, top, spans)


def _shares(verdict: _Verdict) -> dict[str, float]:
    """Each known language's share of the text's characters (bytes would overweight non-Latin)."""
    chars: dict[str, int] = {}
    if len(verdict.spans) > 1:
        data = verdict.text.encode("utf-8")
        for offset, length, code in verdict.spans:
            if code == UNKNOWN_LANGUAGE:
                continue
            piece = data[offset : offset + length].decode("utf-8", "ignore")
            chars[code] = chars.get(code, 0) + len(piece) - piece.count(" ")
    total = sum(chars.values())
    if not total:
        known = {code: pct for code, pct, _ in verdict.top if code != UNKNOWN_LANGUAGE and pct}
        total = sum(known.values())
        return {code: pct / total for code, pct in known.items()} if total else {}
    return {code: n / total for code, n in chars.items() if n}


# --------------------------------------------------------------------------- short-text priors

_SHORT_TEXT_LETTERS = 120
# Languages CLD2 over-predicts on a few words of a major language (measured on NTREX 5-word
# snippets: Scots for English, Bihari and Sanskrit for Hindi, ...). On short text they only win
# when nothing else is offered.
_SHORT_TEXT_UNLIKELY = frozenset(
    "sco bih sa tlh aa kha oc jv la ia ie eo vo haw gd ceb war lg zu xh st tn ts ss ve nso".split()
)
# Letters Urdu uses and Persian and Arabic do not (ٹ ڈ ڑ ں ے ہ ھ ۓ), and letters of Pashto and
# Sindhi that Urdu does not use: decisive evidence on a few words, where CLD2 often says "fa".
_URDU_LETTERS_RE = re.compile("[\u0679\u0688\u0691\u06ba\u06d2\u06c1\u06be\u06d3]")
_NOT_URDU_LETTERS_RE = re.compile(
    "[\u067c\u0689\u0693\u0696\u069a\u06ab\u06bc\u06d0\u06cd\u0681\u0685"  # Pashto
    "\u068a\u068f\u068d\u067a\u067d\u067f\u0680\u067b\u0684\u0683\u0687\u0699"
    "\u06a6\u06aa\u06b1\u06b3\u06bb\u06fe\u0629\u064a\u0643]"  # Sindhi, Arabic
)
_URDU_NEIGHBOURS = frozenset({"fa", "ar", "ps", "sd"})


def _short_text_choice(
    verdict: _Verdict, counts: dict[str, int], script: str, text: str
) -> str | None:
    """The main language of a short text.

    On a few words CLD2's byte percentages are dominated by embedded names in another script
    ("पहली बार Revlon, Essie, Tweezerman"), so candidates are ranked by percent times CLD2's
    normalised score (how well the text fits the language), among languages whose script is in
    the text and which are not over-predicted on short text. Urdu-only letters decide between
    Urdu and its Arabic-script neighbours.
    """
    ranked: list[tuple[float, str]] = []
    for code, percent, score in verdict.top:
        if code == UNKNOWN_LANGUAGE or percent <= 0:
            continue
        lang_script = _script_of(code)
        if not any(_compatible(code, s) for s in counts) and lang_script != script:
            continue
        weight = percent * max(score, 1.0)
        if code in _SHORT_TEXT_UNLIKELY:
            weight *= 0.01
        ranked.append((weight, code))
    if not ranked:
        return None
    ranked.sort(reverse=True)
    best = ranked[0][1]
    if best in _SHORT_TEXT_UNLIKELY:
        fallback = _SCRIPT_DEFAULT.get(_script_of(best))
        best = fallback or best
    if (
        best in _URDU_NEIGHBOURS
        and _URDU_LETTERS_RE.search(text)
        and not _NOT_URDU_LETTERS_RE.search(text)
    ):
        best = "ur"
    return best


# --------------------------------------------------------------------------- detection


def _share_list(shares: dict[str, float]) -> list[LanguageShare]:
    ordered = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        LanguageShare(language=code, share=round(min(1.0, max(0.0, share)), 4))
        for code, share in ordered
    ]


def detect_language(text: str, hint: str | None = None) -> LanguageResult:
    """Main language of ``text`` with its script, a confidence in 0..1 and per-language shares.

    ``hint`` (an ISO 639 code, e.g. from a feed) breaks ties between close languages of the same
    script and chooses ``ur`` over ``hi`` for romanised Hindustani; it never overrides a clear
    detection.
    """
    hint = _normalise_code(hint) if hint else None
    if hint == UNKNOWN_LANGUAGE:
        hint = None
    # Sanitising costs a regex pass over the whole text, so it is skipped for the (usual) text
    # that has nothing to remove; CLD2 itself falls back to it on any error.
    clean = _sanitise(text) if _ODD_CHAR_RE.search(text, 0, _ODD_PROBE_CHARS) else text
    counts = _script_counts(_sample(clean, _SCRIPT_SAMPLE_CHARS).encode("utf-8", "surrogatepass"))
    script = _dominant_script(counts)
    if script == UNKNOWN_SCRIPT:
        return LanguageResult(UNKNOWN_LANGUAGE, UNKNOWN_SCRIPT, 0.0, [])

    if script == "Latn":
        roman = _romanised_hindustani(clean, hint)
        if roman is not None:
            language, confidence = roman
            return LanguageResult(
                language, "Latn", round(confidence, 4), _share_list({language: 1.0})
            )

    verdict = _cld2(clean, hint)
    short = sum(counts.values()) < _SHORT_TEXT_LETTERS
    language, script, confidence = _choose(verdict, counts, script, clean, hint, short)
    return LanguageResult(
        language,
        script,
        round(min(1.0, max(0.0, confidence)), 4),
        _share_list(_with_share(_shares(verdict), language)),
    )


def _choose(
    verdict: _Verdict,
    counts: dict[str, int],
    script: str,
    text: str,
    hint: str | None,
    short: bool,
) -> tuple[str, str, float]:
    """The language CLD2's verdict points to, with the text's script for it and a confidence."""
    percents = {code: pct for code, pct, _ in verdict.top if code != UNKNOWN_LANGUAGE}
    if short:
        language = _short_text_choice(verdict, counts, script, text) or UNKNOWN_LANGUAGE
    else:
        language = max(percents, key=lambda c: percents[c]) if percents else UNKNOWN_LANGUAGE

    confidence = percents.get(language, 0) / 100.0
    if not verdict.reliable:
        confidence *= 0.6
    if short:
        confidence *= 0.8

    if language != UNKNOWN_LANGUAGE:
        # The text's script for this language (a Hindi snippet full of English names is Deva).
        lang_script = _script_of(language)
        if lang_script in counts or _compatible(language, script):
            script = lang_script if lang_script in counts else script
        elif not short:
            language = UNKNOWN_LANGUAGE
    if language == UNKNOWN_LANGUAGE:
        # Nothing CLD2 offers fits the letters: the hint if it fits, else the script's usual
        # language, with low confidence.
        if hint and _compatible(hint, script):
            language = hint
        else:
            language = _SCRIPT_DEFAULT.get(script, UNKNOWN_LANGUAGE)
        confidence = 0.3 if language != UNKNOWN_LANGUAGE else 0.0
    elif (
        hint
        and hint != language
        and (short or not verdict.reliable)
        and _compatible(hint, script)
        and hint in percents
    ):
        # Unsure on little text: the caller's hint wins if CLD2 also considered it.
        language = hint
        confidence = min(confidence, percents[hint] / 100.0)
    return language, script, confidence


def _with_share(shares: dict[str, float], language: str) -> dict[str, float]:
    """The shares, with the chosen language among them (renormalised) when CLD2 left it out."""
    if language == UNKNOWN_LANGUAGE or language in shares:
        return shares
    shares = {language: 1.0} if not shares else {**shares, language: max(shares.values())}
    total = sum(shares.values())
    return {code: share / total for code, share in shares.items()}


def warmup() -> None:
    """Load both detectors' models now rather than on the first article."""
    detect_language("Pakistan aur Russia ne ittefaq kiya hai")
    detect_language("The ministers met in Islamabad and agreed to work together.")
    _cld3("warm up")
