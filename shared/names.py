"""Cross-script names: a readable Latin form and one stable id for names the KB does not know.

Hindi and Urdu are one spoken language in two scripts, so the same person appears as
``नबील मुनीर`` in a Hindi article and ``نبیل منیر`` in an Urdu one. Transliterating one script into
the other is lossy in the Urdu → Hindi direction (Urdu leaves short vowels unwritten), so instead
of converting, both spellings are reduced to what they reliably share: a **consonant skeleton**.

:func:`name_key` maps each script to one small consonant alphabet and then drops what the scripts
disagree on:

* all vowels (Urdu omits short ones; Hindi and English spell them inconsistently), and ``y`` /
  ``v`` too (in Urdu ``ی`` / ``و`` are mostly long vowels; ``Yogi`` and ``Vladimir`` lose them);
* a word-final ``h`` (Urdu ``مدینہ`` vs Hindi ``मदीना``; ``شاہ`` vs ``शाह`` both lose it);
* aspiration (``भ``/``بھ``/``bh`` → ``b``) and nukta (``ज़``/``ज``/``ز``/``ج`` → ``j``,
  ``फ़``/``फ``/``ف`` → ``f``);
* sibilants merge (``श ष स ش س ص ث`` → ``s``), as do ``ت ط ٹ`` / ``त ट``, ``ک ق خ`` / ``क ख``,
  ``ڑ ڈ د`` / ``ड़ ड द``; ``m`` before ``b``/``p`` becomes ``n`` (``अंबानी`` / ``امبانی``);
* doubled consonants collapse (shadda, virama clusters, ``Muhammad`` / ``Mohamad``);
* titles and honorifics (``General``, ``جنرل``, ``श्री``, trailing ``जी``) are removed.

Word boundaries are dropped too, because Urdu often splits what Hindi writes as one word
(``اسلام آباد`` / ``इस्लामाबाद``, ``من موہن`` / ``मनमोहन``): the key is ``nblmnr``. Other scripts
(Cyrillic, CJK, ...) are romanised with uroman and reduced by the same Latin rules.
:func:`latin_name` is the display form: a rule-based Devanagari romaniser with Hindi schwa
deletion (``शहबाज़ शरीफ़`` → ``Shahbaz Sharif``), an Urdu romaniser that takes unwritten short
vowels from Hindi and knowledge-base spellings of the same word and guesses them otherwise, and
uroman for everything else. ``tests/unit/enrich/data/name_pairs.tsv`` measures how often the
Hindi and Urdu spellings of one name agree and that distinct names do not collide.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from itertools import compress
from pathlib import Path
from typing import Any, cast

from shared.text import normalize_text

__all__ = [
    "devanagari_pattern",
    "ends_with_honorific",
    "ends_with_title",
    "entity_id",
    "latin_name",
    "name_key",
    "name_span",
    "names_after_titles",
    "names_an_office",
    "person_after_title",
    "script_of",
    "TITLED_NAME_WORDS",
    "urdu_pattern",
    "warmup",
]

VOWEL = "a"  # placeholder letter for any vowel in the intermediate key alphabet

# --------------------------------------------------------------------------- script detection


def script_of(text: str) -> str:
    """The dominant script of ``text`` as an ISO 15924 code: Arab, Deva, Latn or Zyyy."""
    arab = deva = latn = other = 0
    for char in text:
        code = ord(char)
        if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0xFB50 <= code <= 0xFEFF:
            arab += 1
        elif 0x0900 <= code <= 0x097F:
            deva += 1
        elif char.isascii() and char.isalpha() or 0x00C0 <= code <= 0x024F:
            latn += 1
        elif char.isalpha():
            other += 1
    best = max(arab, deva, latn, other)
    if best == 0:
        return "Zyyy"
    if best == arab:
        return "Arab"
    if best == deva:
        return "Deva"
    if best == latn:
        return "Latn"
    return "Zyyy"


# --------------------------------------------------------------------------- key alphabets

_ARABIC_KEY: dict[str, str] = {
    "ا": VOWEL, "آ": VOWEL, "أ": VOWEL, "إ": VOWEL, "ٱ": VOWEL, "ع": VOWEL, "ے": VOWEL,
    "ۓ": VOWEL, "ء": "", "ئ": "",
    "ب": "b", "پ": "p", "ت": "t", "ٹ": "t", "ط": "t", "ث": "s", "س": "s", "ش": "s", "ص": "s",
    "ج": "j", "ز": "j", "ذ": "j", "ض": "j", "ظ": "j", "ژ": "j", "چ": "c",
    "ح": "h", "ہ": "h", "ه": "h", "ة": "h", "ۃ": "h", "ۀ": "h", "ۂ": "h",
    "خ": "k", "ک": "k", "ك": "k", "ق": "k", "ڪ": "k", "گ": "g", "غ": "g", "ګ": "g",
    "د": "d", "ڈ": "d", "ڑ": "d", "ر": "r", "ف": "f", "ل": "l", "م": "m", "ن": "n", "ں": "n",
    "و": "v", "ؤ": "v", "ی": "y", "ي": "y", "ى": "y",
}  # fmt: skip
_ARABIC_ASPIRATION = "ھ"

_DEVANAGARI_KEY: dict[str, str] = {
    "क": "k", "ख": "k", "ग": "g", "घ": "g", "ङ": "n", "च": "c", "छ": "c", "ज": "j", "झ": "j",
    "ञ": "n", "ट": "t", "ठ": "t", "ड": "d", "ढ": "d", "ण": "n", "त": "t", "थ": "t", "द": "d",
    "ध": "d", "न": "n", "ऩ": "n", "प": "p", "फ": "f", "ब": "b", "भ": "b", "म": "m", "य": "y",
    "र": "r", "ऱ": "r", "ल": "l", "ळ": "l", "व": "v", "श": "s", "ष": "s", "स": "s", "ह": "h",
    "ं": "n", "ँ": "n", "ः": "h", "्": "", "़": "", "ृ": "r", "ऋ": "r",
}  # fmt: skip
for _code in [*range(0x0904, 0x0915), *range(0x093E, 0x094D), 0x0955, 0x0956, 0x0957]:
    _DEVANAGARI_KEY.setdefault(chr(_code), VOWEL)
_DEVANAGARI_KEY["ऋ"] = "r"
_DEVANAGARI_KEY["ृ"] = "r"

# Latin spelling → key letters, longest first. Applied left to right on lowercase ASCII.
_LATIN_DIGRAPHS = (
    ("sch", "s"), ("tch", "c"), ("chh", "c"), ("sh", "s"), ("ch", "c"), ("kh", "k"),
    ("gh", "g"), ("ph", "f"), ("th", "t"), ("dh", "d"), ("bh", "b"), ("jh", "j"), ("zh", "j"),
    ("ck", "k"),
)  # fmt: skip
_LATIN_SINGLE = {
    "a": VOWEL, "e": VOWEL, "i": VOWEL, "o": VOWEL, "u": VOWEL,
    "b": "b", "c": "k", "d": "d", "f": "f", "g": "g", "h": "h", "j": "j", "k": "k", "l": "l",
    "m": "m", "n": "n", "p": "p", "q": "k", "r": "r", "s": "s", "t": "t", "v": "v", "w": "v",
    "x": "ks", "y": "y", "z": "j",
}  # fmt: skip
_LATIN_DIGRAPH_RE = re.compile("|".join(d for d, _ in _LATIN_DIGRAPHS) + "|[a-z]")
_LATIN_DIGRAPH_MAP = dict(_LATIN_DIGRAPHS)

#: Titles, honorifics and designations, in normalize_text form: never part of a person's name,
#: and evidence for the name after them. Removed from the front of a name; inside a mention, the
#: words up to the last of them describe the person ("پاکستانی وزیر اعظم ...") and go too. Words
#: that are titles only together with the next one ("प्रधान" in "प्रधान मंत्री", which is also the
#: surname Pradhan; "Field" of "Field Marshal") are in ``_TITLE_PAIRS`` instead.
_TITLES = frozenset(
    normalize_text(t)
    for t in (
        # English
        "mr mrs ms miss dr prof professor sir shri sri smt gen general lt col colonel maj major "
        "brig capt marshal president minister pm justice senator governor mayor "
        "sheikh shaikh hazrat maulana mufti begum sahib saheb ji jee sb mp mla "
        "cm dy deputy foreign interior defence defense secretary ambassador king queen prince "
        "director chancellor father presenter anchor spokesman spokeswoman spokesperson "
        "commissioner sen actor actress singer captain coach comedian journalist lawyer chief "
        "chairman chairperson chairwoman leader adviser advisor envoy admiral commander speaker "
        "congressman congresswoman imam pope ceo"
    ).split()
    + (
        # Urdu
        "جناب محترم محترمہ ڈاکٹر جنرل لیفٹیننٹ کرنل میجر بریگیڈیئر کیپٹن مارشل صدر وزیر "
        "وزیراعظم وزیراعلی جسٹس گورنر سینیٹر شیخ حضرت مولانا مفتی بیگم "
        "صاحب صاحبہ جی مسٹر مسز شری ڈائریکٹر چانسلر فادر پریزنٹر اینکر ترجمان سفیر کمشنر "
        "سالہ اداکار اداکارہ گلوکار گلوکارہ کپتان کوچ صحافی وکیل سیکرٹری سیکریٹری مشیر سربراہ "
        "چیئرمین چیرمین رہنما لیڈر نائب ڈپٹی اسپیکر سپیکر کمانڈر ایڈمرل پروفیسر جج "
        "وزرائے ایلچی مجسٹریٹ کلکٹر"
    ).split()
    + (
        # Hindi
        "श्री श्रीमती सुश्री डॉ डॉक्टर जनरल लेफ्टिनेंट कर्नल मेजर ब्रिगेडियर कैप्टन मार्शल "
        "राष्ट्रपति प्रधानमंत्री मंत्री मुख्यमंत्री न्यायाधीश राज्यपाल सांसद विधायक "
        "शेख हजरत मौलाना मुफ्ती बेगम साहब साहिब जी मिस्टर डायरेक्टर निदेशक चांसलर फादर "
        "प्रवक्ता राजदूत आयुक्त कमिश्नर वर्षीय अभिनेता अभिनेत्री गायक गायिका कप्तान कोच "
        "कॉमेडियन पत्रकार वकील सेवारत सेन सीनेटर सेनेटर सचिव महासचिव अध्यक्ष उपाध्यक्ष "
        "उपराष्ट्रपति उपमुख्यमंत्री नेता सलाहकार प्रोफेसर प्रो न्यायमूर्ति जज महापौर मेयर "
        "स्पीकर कमांडर एडमिरल चेयरमैन कांग्रेसी ग्रैंडमास्टर प्रमुख दूत मजिस्ट्रेट कलेक्टर "
        "जिलाधिकारी"
    ).split()
)

#: Two-word titles whose first word alone is no title (or is a name: "प्रधान", "Field").
_TITLE_PAIRS = frozenset(
    (normalize_text(head), normalize_text(tail))
    for head, tail in (
        ("प्रधान", "मंत्री"),
        ("मुख्य", "मंत्री"),
        ("मुख्य", "न्यायाधीश"),
        ("फील्ड", "मार्शल"),
        ("فیلڈ", "مارشل"),
        ("چیف", "جسٹس"),
        ("چیف", "ایگزیکٹو"),
        ("field", "marshal"),
        ("prime", "minister"),
        ("vice", "president"),
    )
)

#: Honorifics that *follow* a name (मोदी जी, خان صاحب): the only titles cut from a name's end,
#: since a title word at the end is as often a surname (धर्मेंद्र प्रधान, Martin Luther King,
#: Amartya Sen, Ahmed Sheikh).
_TRAILING_TITLES = frozenset(
    normalize_text(t) for t in "ji jee sahib saheb sb जी साहब साहिब जी جی صاحب صاحبہ".split()
)

#: The honorific "ji" follows a name (मोदी जी); in front of one it is the initial G (जी किशन रेड्डी).
_LEADING_TITLES = _TITLES - {normalize_text(t) for t in ("ji", "jee", "जी", "جی")}

#: Second words of two-word titles that are names on their own (بابر اعظم) or words of other
#: names (خارجہ in دفتر خارجہ): removed only right after the first word of the title.
_TITLE_TAILS = frozenset(
    (normalize_text(head), normalize_text(tail))
    for head, tails in (
        ("وزیر", "اعظم اعلی خارجہ داخلہ دفاع خزانہ مالیات اطلاعات تعلیم صحت قانون تجارت ریلوے"),
        ("وزرائے", "اعلی"),
        ("مشیر", "خارجہ داخلہ خزانہ مالیات اطلاعات"),
    )
    for tail in tails.split()
)

#: Group nouns: a delegation, officials, forces, an office or a government is never a person
#: ("روسی وفد", the Russian delegation; "सुरक्षा बल"). In a person mention, the words up to the
#: last of them go (what follows may be a name: "... وفد کے سربراہ X"); a mention that ends in
#: one is no person.
_GROUP_NOUNS = frozenset(
    normalize_text(t)
    for t in (
        "delegation delegations officials authorities forces troops soldiers police office "
        "government administration ministry team army militants "
        "وفد وفود حکام عہدیدار عہدیداران عہدیداروں اہلکار اہلکاروں افسران فورسز فوج دستے پولیس "
        "حکومت انتظامیہ دفتر وزارت ٹیم "
        "प्रतिनिधिमंडल शिष्टमंडल अधिकारी अधिकारियों अफसर अफसरों बल बलों सेना फौज पुलिस सैनिक "
        "जवान कार्यालय सरकार प्रशासन मंत्रालय टीम"
    ).split()
)

#: Head words of organisations and buildings: a mention with one is no person, even after a
#: title ("Prime Minister Office", "وزیراعظم ہاؤس", "जनरल असेंबली").
_ORG_HEADS = frozenset(
    normalize_text(t)
    for t in (
        "office house secretariat ministry department court council party committee commission "
        "assembly bank university board authority palace hospital motors corporation company "
        "league club college school institute agency bureau society academy centre center "
        "scheme mission fund programme program award prize trophy cup "
        "دفتر ہاؤس وزارت محکمہ عدالت کونسل پارٹی جماعت کمیٹی کمیشن اسمبلی بینک یونیورسٹی بورڈ "
        "اتھارٹی سیکرٹریٹ سیکریٹریٹ محل ایوان ہسپتال اسپتال کمپنی کارپوریشن ادارہ لیگ کالج "
        "مملکت سوسائٹی اکیڈمی مرکز سکیم اسکیم پروگرام مشن فنڈ منصوبہ ایوارڈ انعام کپ ٹرافی "
        "कार्यालय भवन मंत्रालय विभाग न्यायालय अदालत परिषद पार्टी दल समिति आयोग सभा बैंक "
        "विश्वविद्यालय बोर्ड प्राधिकरण सचिवालय आवास निवास अस्पताल कंपनी निगम संस्थान लीग "
        "कॉलेज असेंबली मोटर्स सोसायटी सोसाइटी अकादमी एकेडमी एकैडमी केंद्र केन्द्र योजना मिशन "
        "अभियान कोष निधि कार्यक्रम पुरस्कार सम्मान ट्रॉफी कप कमेटी कमिटी"
    ).split()
)

#: Honorifics and ranks: followed by a person's name, never by an organisation's or a place's.
_HONORIFICS = frozenset(
    normalize_text(t)
    for t in (
        "mr mrs ms miss dr prof professor sir shri sri smt gen general lt col colonel maj major "
        "brig capt captain "
        "جناب محترم محترمہ ڈاکٹر جنرل لیفٹیننٹ کرنل میجر بریگیڈیئر کیپٹن مسٹر مسز شری پروفیسر "
        "श्री श्रीमती सुश्री डॉ डॉक्टर जनरल लेफ्टिनेंट कर्नल मेजर ब्रिगेडियर कैप्टन मिस्टर प्रोफेसर प्रो"
    ).split()
)

#: Words a name never starts with, left when a description is cut: postpositions ("… وفد کے
#: سربراہ" → کے) and the portfolio of an office ("ترجمان دفتر خارجہ" → خارجہ).
_NAME_NEVER_STARTS = frozenset(
    normalize_text(t)
    for t in (
        "of the for کے کی کا نے سے کو के की का ने से को "
        "خارجہ داخلہ دفاع خزانہ مالیات اطلاعات विदेश गृह रक्षा वित्त"
    ).split()
)

_WORD_RE = re.compile(
    r"[^\W\d_]+(?:[\u0900-\u097F\u0610-\u061A\u064B-\u065F\u0670\u200c\u200d]+[^\W\d_]*)*"
)


def _ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii()).lower()


@functools.cache
def _uroman() -> Any:
    import uroman  # heavy: imported only when a name in another script shows up

    return uroman.Uroman()


def _romanize_other(text: str) -> str:
    """Any script → Latin with uroman (slow first call: it loads its tables)."""
    return str(_uroman().romanize_string(text))


# --------------------------------------------------------------------------- key letters per word


def _arabic_letters(word: str) -> list[str]:
    letters: list[str] = []
    for char in word:
        if char == _ARABIC_ASPIRATION:
            if letters and letters[-1] not in (VOWEL, "h"):
                if letters[-1] == "p":
                    letters[-1] = "f"  # پھ is Hindi फ, which folds to f
                continue  # aspiration after a consonant
            letters.append("h")
            continue
        mapped = _ARABIC_KEY.get(char)
        if mapped:
            letters.extend(mapped)
    return letters


def _devanagari_letters(word: str) -> list[str]:
    letters: list[str] = []
    chars = unicodedata.normalize("NFD", word)
    for index, char in enumerate(chars):
        mapped = _DEVANAGARI_KEY.get(char)
        if mapped:
            letters.extend(mapped)
            # सिंह is written سنگھ / Singh: an anusvara before ह sounds "ng".
            if char == "ं" and chars[index + 1 : index + 2] == "ह":
                letters.append("g")
    return letters


def _latin_letters(word: str) -> list[str]:
    letters: list[str] = []
    for match in _LATIN_DIGRAPH_RE.finditer(_ascii_fold(word)):
        piece = match.group()
        mapped = _LATIN_DIGRAPH_MAP.get(piece) or _LATIN_SINGLE[piece]
        # A remaining "h" right after a consonant is an aspiration or spelling artefact
        # ("Delhi", "Rahul" keeps its h because a vowel precedes it).
        if mapped == "h" and letters and letters[-1] != VOWEL:
            continue
        letters.extend(mapped)
    return letters


def _skeleton(letters: list[str]) -> str:
    """Key letters of one word → consonant skeleton (see the module docstring)."""
    # y and v are vowels or glides in Urdu spelling and disappear everywhere, even word-initially,
    # so that a name written as one word in Hindi and two in Urdu gives the same key.
    letters = [VOWEL if letter in "yv" else letter for letter in letters]
    last = len(letters) - 1
    while last > 0 and letters[last] == VOWEL:
        last -= 1
    if last > 0 and letters[last] == "h":  # word-final h: مدینہ / मदीना, شاہ / शाह
        letters = letters[:last] + letters[last + 1 :]
    out: list[str] = []
    for index, letter in enumerate(letters):
        if letter == VOWEL:
            continue
        if letter == "m" and index + 1 < len(letters) and letters[index + 1] in "bp":
            letter = "n"
        out.append(letter)
    return "".join(out)


def _collapse(skeleton: str) -> str:
    """Collapse doubled consonants: shadda, virama clusters, spelling variants."""
    return "".join(c for i, c in enumerate(skeleton) if i == 0 or skeleton[i - 1] != c)


def _word_letters(word: str, script: str) -> list[str]:
    if script == "Arab":
        return _arabic_letters(word)
    if script == "Deva":
        return _devanagari_letters(word)
    if script == "Latn":
        return _latin_letters(word)
    letters: list[str] = []
    for part in _romanize_other(word).split():
        letters.extend(_latin_letters(part))
    return letters


def _title_length(keys: Sequence[str], k: int, hi: int) -> int:
    """How many of the words ``keys[k:hi]`` open with a title: 2 for a two-word title, 1, 0."""
    if k + 1 < hi and (keys[k], keys[k + 1]) in _TITLE_PAIRS:
        return 2
    if keys[k] in _LEADING_TITLES:
        return 2 if k + 1 < hi and (keys[k], keys[k + 1]) in _TITLE_TAILS else 1
    return 0


#: The most words a name found by its title alone is given ("نائب وزیر خارجہ سرگئی ریابکوف").
TITLED_NAME_WORDS = 3
#: Titles that are as often adjectives or parts of other names ("प्रमुख पहलू", a main aspect;
#: "75 سالہ جشن", a 75-year celebration; "جنرل سٹڈیز", general studies): no evidence for the
#: word after them (measured on IL-NER dev: every name they found was wrong).
_WEAK_TITLES = frozenset(
    normalize_text(t) for t in "प्रमुख वर्षीय سالہ जनरल جنرل general chief".split()
)
#: Forms of address that follow a title ("अध्यक्ष महोदय", Mr Chairman) and words that qualify
#: the next one ("ضلعی مجسٹریٹ", district magistrate).
_ADDRESS_WORDS = frozenset(normalize_text(t) for t in "महोदय महोदया जनाब ضلعی ضلع जिला".split())
#: The first words of every title (:func:`_title_length` is non-zero only at one of them).
_TITLE_OPENINGS = _LEADING_TITLES | {head for head, _ in _TITLE_PAIRS}
#: Particles and conjunctions that follow a name ("संधू भी", Sandhu too).
_PARTICLES = frozenset(
    normalize_text(t) for t in "भी ही तो और या एवं तथा بھی ہی تو اور یا نیز".split()
)
#: Words no name found by its title holds: titles, groups, organisations' heads, postpositions.
_NEVER_IN_TITLED_NAME = (
    _TITLES | _GROUP_NOUNS | _ORG_HEADS | _NAME_NEVER_STARTS | _ADDRESS_WORDS | _PARTICLES
)


def names_after_titles(
    keys: Sequence[str], name_word: Callable[[int], bool]
) -> list[tuple[int, int]]:
    """Token ranges ``(start, end)`` of the names right after a title, in ``keys`` (a text's
    tokens in :func:`normalize_text` form): titles in a row are one description ("सहायक सचिव"),
    and the name is the up to :data:`TITLED_NAME_WORDS` words after it that ``name_word``
    (the caller's test of token ``i``: a rare word, no place...) accepts and that are no title,
    group, organisation head or postposition."""
    found: list[tuple[int, int]] = []
    size = len(keys)
    opening = _TITLE_OPENINGS.__contains__
    # the words that can open a title, found by one C-level pass (most texts have a few)
    k = 0
    for at in compress(range(size), map(opening, keys)):
        if at < k:
            continue  # inside the previous description or name
        k = at
        length = _title_length(keys, k, size)
        if not length:
            continue
        while length:  # the whole description
            k += length
            length = _title_length(keys, k, size) if k < size else 0
        if keys[k - 1] in _WEAK_TITLES:
            continue
        start = k
        while (
            k < size
            and k - start < TITLED_NAME_WORDS
            and keys[k] not in _NEVER_IN_TITLED_NAME
            and name_word(k)
        ):
            k += 1
        if k > start:
            found.append((start, k))
    return found


def _name_range(words: list[str], keep: int) -> tuple[int, int]:
    """``words[lo:hi]`` without the titles in front and the honorifics behind, keeping ``keep``
    words (1: a name that is only a title keeps its last word; 0: it becomes empty)."""
    keys = [normalize_text(w) for w in words]
    lo, hi = 0, len(words)
    while hi - lo > keep:
        length = _title_length(keys, lo, hi)
        if not length or hi - lo - length < keep:
            if length and keys[lo] in _LEADING_TITLES and hi - lo - 1 >= keep:
                lo += 1  # "President" of "President" + one word kept
            break
        lo += length
    while hi - lo > keep and keys[hi - 1] in _TRAILING_TITLES:
        hi -= 1
    return lo, hi


def _words(text: str, strip_titles: bool = True) -> list[str]:
    """Words of a name, titles and honorifics removed from both ends (unless told not to)."""
    words = [w for w in _WORD_RE.findall(text) if w]
    if not strip_titles:
        return words
    lo, hi = _name_range(words, keep=1)
    return words[lo:hi]


def name_span(text: str) -> tuple[int, int] | None:
    """Where the name is in a person mention once its titles are cut off: ``(start, end)``
    offsets into ``text`` (``"وزیر اعظم شہباز شریف"`` → the offsets of ``شہباز شریف``), or
    ``None`` when the mention is no person's name: nothing but titles (``"وزیر اعلیٰ"``,
    ``"President"``) or a group (``"روسی وفد"``, a delegation). Words up to a title or a group
    noun inside the mention describe the person and go too."""
    matches = list(_WORD_RE.finditer(text))
    if not matches:
        return 0, len(text)
    keys = [normalize_text(m.group()) for m in matches]
    lo, hi = _name_range([m.group() for m in matches], keep=0)
    if lo >= hi:
        return None
    groups = [k for k in range(lo, hi) if keys[k] in _GROUP_NOUNS]
    if groups and groups[-1] == hi - 1:
        return None  # "روسی وفد", "सुरक्षा बल": a group, not a person
    lo = groups[-1] + 1 if groups else lo
    # a title further in ends a description, not a name: "डेमोक्रेटिक सेन. डायने फेइंस्टीन"
    inner = [k for k in range(lo, hi - 1) if _title_length(keys, k, hi - 1)]
    if inner:
        lo = inner[-1] + _title_length(keys, inner[-1], hi - 1)
    # what a cut left in front: postpositions and portfolios ("… وفد کے سربراہ", "… دفتر خارجہ"),
    # more titles; never at the mention's own start, where کے / के is the initial K
    while (groups or inner) and lo < hi:
        step = 1 if keys[lo] in _NAME_NEVER_STARTS else _title_length(keys, lo, hi)
        if not step:
            break
        lo += step
    if lo >= hi:
        return None
    return matches[lo].start(), matches[hi - 1].end()


def person_after_title(text: str) -> tuple[int, int, int] | None:
    """A person named after a title inside a mention the tagger called an organisation or a
    place: ``(head_end, start, end)``, where ``text[:head_end]`` is what the title follows (the
    organisation or place, ``head_end == 0`` when nothing) and ``text[start:end]`` the name.

    "اقوام متحدہ کے سیکرٹری جنرل انتونیو گوتریس" as one organisation is the United Nations and a
    person: a person is never fused with the organisation or place before him. ``None`` when
    no title stands inside, when what follows it names an office or a group ("Prime Minister
    Office", "ترجمان پاک فوج"), or when a title opens the mention and one word follows ("General
    Motors" may be a company; "General Aslam Beg" is a person).
    """
    matches = list(_WORD_RE.finditer(text))
    keys = [normalize_text(m.group()) for m in matches]
    n = len(keys)
    titles = [k for k in range(n - 1) if _title_length(keys, k, n)]
    if not titles:
        return None
    lo = titles[-1] + _title_length(keys, titles[-1], n)
    while lo < n and (keys[lo] in _NAME_NEVER_STARTS or _title_length(keys, lo, n)):
        lo += 1
    tail = keys[lo:]
    if not tail or any(k in _ORG_HEADS or k in _GROUP_NOUNS for k in tail):
        return None
    head = titles[-1]
    while head > 0 and (keys[head - 1] in _NAME_NEVER_STARTS or _title_length(keys, head - 1, n)):
        head -= 1
    if head == 0 and len(tail) < 2:
        return None
    head_end = matches[head - 1].end() if head else 0
    return head_end, matches[lo].start(), matches[-1].end()


def ends_with_honorific(text: str) -> bool:
    """Whether ``text`` (what precedes a mention) ends with an honorific or a rank ("Dr.",
    "جناب", "श्री", "General"), after which comes a person, whatever the tagger called him."""
    words = _WORD_RE.findall(text[-30:])
    return bool(words) and normalize_text(words[-1]) in _HONORIFICS


def names_an_office(text: str) -> bool:
    """Whether a mention holds the head word of an organisation, a building or a group."""
    return any(
        (key := normalize_text(w)) in _ORG_HEADS or key in _GROUP_NOUNS
        for w in _WORD_RE.findall(text)
    )


def ends_with_title(text: str) -> bool:
    """Whether ``text`` (what precedes a mention) ends with a title: ``"… وزیر اعلیٰ"``."""
    words = _WORD_RE.findall(text[-60:])
    if not words:
        return False
    last = normalize_text(words[-1])
    if last in _TITLES:
        return True
    pair = (normalize_text(words[-2]), last) if len(words) > 1 else None
    return pair in _TITLE_TAILS or pair in _TITLE_PAIRS


# --------------------------------------------------------------------------- public API


@functools.lru_cache(maxsize=65536)
def name_key(text: str, language: str | None = None, strip_titles: bool = True) -> str:
    """Cross-script key of a name: the same for its Hindi, Urdu and Latin spellings.

    ``name_key("नबील मुनीर") == name_key("نبیل منیر") == name_key("Nabeel Muneer") == "nblmnr"``.
    ``language`` is accepted for symmetry with the other helpers; the script decides the rules.
    Titles are a person's, not part of an organisation's name ("Foreign Office"): pass
    ``strip_titles=False`` for other names. Returns ``""`` when ``text`` has no letters.
    """
    del language  # the script, not the language, decides how letters map
    return _collapse(
        "".join(_skeleton(_word_letters(w, script_of(w))) for w in _words(text, strip_titles))
    )


def entity_id(text: str, type: str, language: str | None = None) -> str:
    """A deterministic, URL-safe ASCII id for a name outside the KB, e.g. ``per:nblmnr``.

    Names without a usable skeleton (digits, symbols, all-vowel words) fall back to a short
    hash of their normalised form so the id is still stable.
    """
    key = name_key(text, language, strip_titles=type.upper() == "PER")
    if not key:
        digest = hashlib.blake2s(normalize_text(text).encode("utf-8"), digest_size=6).hexdigest()
        key = f"x{digest}"
    return f"{type.lower()}:{key}"


# --------------------------------------------------------------------------- display form

_DEVA_CONSONANTS: dict[str, str] = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n", "च": "ch", "छ": "chh", "ज": "j",
    "झ": "jh", "ञ": "n", "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n", "त": "t",
    "थ": "th", "द": "d", "ध": "dh", "न": "n", "ऩ": "n", "प": "p", "फ": "ph", "ब": "b",
    "भ": "bh", "म": "m", "य": "y", "र": "r", "ऱ": "r", "ल": "l", "ळ": "l", "व": "v", "श": "sh",
    "ष": "sh", "स": "s", "ह": "h",
}  # fmt: skip
_DEVA_NUKTA = {"क": "q", "ख": "kh", "ग": "gh", "ज": "z", "ड": "r", "ढ": "rh", "फ": "f", "य": "y"}
_DEVA_VOWEL_SIGNS = {
    "ा": "a", "ि": "i", "ी": "i", "ु": "u", "ू": "u", "ृ": "ri", "े": "e", "ै": "ai",
    "ो": "o", "ौ": "au", "ॉ": "o", "ॅ": "e", "ॆ": "e", "ॊ": "o",
}  # fmt: skip
_DEVA_VOWELS = {
    "अ": "a", "आ": "a", "इ": "i", "ई": "i", "उ": "u", "ऊ": "u", "ऋ": "ri", "ए": "e",
    "ऐ": "ai", "ओ": "o", "औ": "au", "ऑ": "o", "ऍ": "e", "ऎ": "e", "ऒ": "o",
}  # fmt: skip


NASAL = "N"  # anusvara unit marker, written "n"
NASALS = (NASAL,)


def _romanize_devanagari_word(word: str) -> str:
    """One Devanagari word → Latin with Hindi schwa deletion (final and VC_CV medial)."""
    # Syllable units: (consonant, vowel) where vowel is None for "inherent a", "" for virama.
    units: list[list[str | None]] = []
    chars = unicodedata.normalize("NFD", word)
    index = 0
    while index < len(chars):
        char = chars[index]
        if char in _DEVA_CONSONANTS:
            consonant = _DEVA_CONSONANTS[char]
            if index + 1 < len(chars) and chars[index + 1] == "़":
                consonant = _DEVA_NUKTA.get(char, consonant)
                index += 1
            if consonant == "v" and units and units[-1][1] == "" and units[-1][0] not in NASALS:
                consonant = "w"  # after a consonant: ख्वाजा Khwaja, भारद्वाज Bharadwaj, स्वामी
            units.append([consonant, None])
        elif char in _DEVA_VOWEL_SIGNS and units and units[-1][1] is None:
            units[-1][1] = _DEVA_VOWEL_SIGNS[char]
        elif char == "्" and units and units[-1][1] is None:
            units[-1][1] = ""
        elif char in _DEVA_VOWELS:
            units.append(["", _DEVA_VOWELS[char]])
        elif char in "ंँ":
            units.append([NASAL, ""])  # nasal: behaves as a consonant with no vowel
        elif char == "ः":
            units.append(["h", ""])
        index += 1
    # Schwa deletion, right to left: the last inherent vowel goes unless a consonant cluster
    # precedes it (नरेंद्र → narendra); a medial one goes in V C(a) C V (कमला → kamla). An
    # unresolved inherent vowel to the left counts as a vowel: it is processed later and
    # word-initial ones always stay.
    resolved: list[str | None] = [u[1] for u in units]
    for position in range(len(units) - 1, -1, -1):
        if resolved[position] is not None or not units[position][0]:
            continue
        before = resolved[position - 1] if position > 0 else ""
        before_is_vowel = position > 0 and before != ""
        cluster_before = position > 0 and before == "" and units[position - 1][0] not in NASALS
        if position == len(units) - 1:
            resolved[position] = "a" if position == 0 or cluster_before else ""
            continue
        after = resolved[position + 1]
        after_is_vowel = after != "" and bool(units[position + 1][0])
        resolved[position] = "" if before_is_vowel and after_is_vowel else "a"
    pieces: list[str] = []
    for position, (unit, vowel) in enumerate(zip(units, resolved, strict=True)):
        consonant = unit[0] or ""
        if consonant == NASAL:  # सिंह → Singh: an anusvara before ह sounds "ng"
            following = units[position + 1][0] if position + 1 < len(units) else None
            consonant = "ng" if following == "h" else "n"
        pieces.append(f"{consonant}{vowel or ''}")
    return "".join(pieces)


_URDU_CONSONANTS: dict[str, str] = {
    "ب": "b", "پ": "p", "ت": "t", "ٹ": "t", "ث": "s", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh",
    "د": "d", "ڈ": "d", "ذ": "z", "ر": "r", "ڑ": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh",
    "ص": "s", "ض": "z", "ط": "t", "ظ": "z", "غ": "gh", "ف": "f", "ق": "q", "ک": "k", "ك": "k",
    "گ": "g", "ل": "l", "م": "m", "ن": "n", "ں": "n", "ہ": "h", "ه": "h", "ة": "h",
}  # fmt: skip


_URDU_ROMAN_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ه": "ہ",
        "ة": "ہ",
        "ۀ": "ہ",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ۓ": "ے",
    }  # fmt: skip
)


def _romanize_urdu_word(word: str) -> str:
    """One Urdu word → Latin, guessing short vowels (Urdu leaves them unwritten)."""
    letters = [
        c
        for c in unicodedata.normalize("NFKC", word).translate(_URDU_ROMAN_FOLD)
        if not unicodedata.category(c).startswith("M") and c not in "ـ‌‍"
    ]
    out: list[str] = []
    consonants_seen = 0
    previous_consonant = False
    vowel_initial = bool(letters) and letters[0] in "اع"
    for index, char in enumerate(letters):
        is_last = index == len(letters) - 1
        if char == "ا":
            out.append("a")
            previous_consonant = False
        elif char == "ع":
            if index == 0:
                out.append("a")
            previous_consonant = False
        elif char == "ھ":
            out.append("h")
        elif char == "و" and (
            index == 0 or not previous_consonant or letters[index + 1 : index + 2] == ["ا"]
        ):
            out.append("w")
            consonants_seen += 1
            previous_consonant = True
        elif char == "و":
            out.append("o" if is_last else "u")
            previous_consonant = False
        elif char == "ی" and index == 0:
            out.append("y")
            consonants_seen += 1
            previous_consonant = True
        elif char == "ی":
            out.append("i")
            previous_consonant = False
        elif char == "ے":
            out.append("e")
            previous_consonant = False
        elif char == "ہ" and is_last and previous_consonant:
            out.append("a")  # word-final he after a consonant is a vowel: مدینہ → madina
        elif char in _URDU_CONSONANTS:
            # Guess a short "a" between the first two consonants of a word: نبیل → nabil.
            if previous_consonant and consonants_seen == 1 and not vowel_initial:
                out.append("a")
            out.append(_URDU_CONSONANTS[char])
            consonants_seen += 1
            previous_consonant = True
    _open_final_cluster(out)
    return "".join(out)


#: Word-final consonant pairs that names keep together (چاند Chand, جنگ Jang, دوست Dost).
_FINAL_CLUSTERS = frozenset({"nd", "nt", "ng", "st", "sht", "kht", "ft", "nk"})
_VOWEL_UNITS = frozenset("aeiouw")


def _open_final_cluster(units: list[str]) -> None:
    """Guess a short "a" before a word's last consonant after another consonant (اکرم Akram,
    احسن Ahsan, ناتھن Nathan), unless the pair is one names keep together."""
    if len(units) < 3 or units[-1] in _VOWEL_UNITS:
        return
    before = len(units) - 2
    if units[before] == "h" and before > 0 and units[before - 1] not in _VOWEL_UNITS:
        before -= 1  # an aspirate (t + ھ) is one consonant
    pair = "".join(units[before:-1]) + units[-1]
    previous = units[before : len(units) - 1]
    if any(u in _VOWEL_UNITS for u in previous) or pair in _FINAL_CLUSTERS:
        return
    if not any(u in _VOWEL_UNITS for u in units[:before]):
        return  # no vowel yet: the rule before has already guessed the word's one vowel
    units.insert(len(units) - 1, "a")


# --------------------------------------------------------------------------- Urdu vowels from Hindi

# Urdu leaves short vowels unwritten, so a rule can only guess them (کمار → "Kmar"); the Hindi
# spelling of the same word writes them (कुमार → "Kumar"). A word's *vowel pattern* is what both
# scripts write: its consonants in the key alphabet plus its long vowels (A for ا / ा, I for ی ے /
# ी े ै and य, U for و / ू ो ौ and व; V for a word-initial vowel). Hindi words and knowledge-base
# names sharing an Urdu word's pattern (tools/build_name_lexicon.py) give its vowels; the Urdu
# letters keep the last word on consonants (ز is z even where Hindi wrote ज for ज़).

_LEXICON_PATH = Path(__file__).resolve().parent / "data" / "urdu_name_lexicon.json.gz"
_DEVA_LONG = {"ा": "A", "ी": "I", "े": "I", "ै": "I", "ू": "U", "ो": "U", "ौ": "U", "ॉ": "U", "ॅ": "I"}
_DEVA_INITIAL = {
    "अ": "V", "आ": "V", "इ": "V", "ई": "VI", "उ": "V", "ऊ": "VU", "ए": "VI", "ऐ": "VI",
    "ओ": "VU", "औ": "VU", "ऑ": "VU", "ऋ": "r",
}  # fmt: skip
_LATIN_UNIT_RE = re.compile(r"sh|kh|gh|ch|th|ph|bh|dh|jh|zh|ng|[b-df-hj-np-tv-z]|[aeiou]+", re.I)
_LONG = frozenset("AIUV")


def _collapse_pattern(pattern: list[str]) -> str:
    return "".join(c for i, c in enumerate(pattern) if i == 0 or pattern[i - 1] != c or c in _LONG)


def devanagari_pattern(word: str) -> str:
    """The vowel pattern of a Devanagari word (see above): ``कुमार`` → ``kmAr``."""
    out: list[str] = []
    for index, char in enumerate(unicodedata.normalize("NFD", word)):
        if char in _DEVA_INITIAL:
            mark = _DEVA_INITIAL[char]
            out.append(mark if index == 0 else mark[-1:].replace("V", "A"))
        elif char in _DEVA_LONG:
            out.append(_DEVA_LONG[char])
        elif char == "य":
            out.append("I")
        elif char == "व":
            out.append("U")
        elif char in "ंँ":
            out.append("n")
        else:
            letter = _DEVANAGARI_KEY.get(char)
            if letter and letter != VOWEL:
                out.append(letter)
    return _collapse_pattern(out)


def urdu_pattern(word: str) -> str:
    """The vowel pattern of an Urdu word (see above): ``کمار`` → ``kmAr``."""
    letters = unicodedata.normalize("NFKC", word).translate(_URDU_ROMAN_FOLD)
    out: list[str] = []
    last = len(letters) - 1
    for index, char in enumerate(letters):
        if char in "اآع":
            out.append("V" if index == 0 else "A" if char != "ع" else "")
        elif char in "یے":
            out.append("I")
        elif char == "و":
            out.append("U")
        elif char == "ہ" and index == last and index > 0 and letters[index - 1] not in "اآویے":
            out.append("A")  # word-final he after a consonant: خواجہ, باجوہ
        elif char != _ARABIC_ASPIRATION:
            letter = _ARABIC_KEY.get(char)
            if letter and letter != VOWEL:
                out.append(letter)
    return _collapse_pattern(out)


@functools.cache
def _lexicon() -> dict[str, list[tuple[str, int]]]:
    """Urdu vowel pattern → Latin spellings with their weights, best first (may be empty)."""
    if not _LEXICON_PATH.is_file():
        return {}
    with gzip.open(_LEXICON_PATH, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return {
        pattern: [(latin, int(n)) for latin, n in rows]
        for pattern, rows in data["patterns"].items()
    }


def warmup() -> None:
    """Load the vowel lexicon now (a worker's start), not on the first Urdu name."""
    _lexicon()


def _consonants(latin: str) -> list[str]:
    return [u for u in _LATIN_UNIT_RE.findall(latin) if u[0].lower() not in "aeiou"]


def _with_consonants(latin: str, consonants: list[str]) -> str:
    """``latin``'s vowels around ``consonants`` (as many as ``latin`` has): Ajad + z,d → Azad."""
    units = _LATIN_UNIT_RE.findall(latin)
    given = iter(consonants)
    out = "".join(u.lower() if u[0].lower() in "aeiou" else next(given) for u in units)
    return out[:1].upper() + out[1:]


def _urdu_from_lexicon(word: str) -> str | None:
    """The lexicon's Latin form of an Urdu word, its consonants from the Urdu letters."""
    candidates = _lexicon().get(urdu_pattern(word))
    if not candidates:
        return None
    urdu = _consonants(_romanize_urdu_word(word))
    fits = [latin for latin, _ in candidates if len(_consonants(latin)) == len(urdu)]
    if not fits:
        return candidates[0][0]
    exact = [latin for latin in fits if [c.lower() for c in _consonants(latin)] == urdu]
    return exact[0] if exact else _with_consonants(fits[0], urdu)


#: Latin letters as Hindi and Urdu write their names: initials (वी. नारायणन, ایم اے جناح) and
#: spelt-out acronyms (ایم کیو ایم).
_LETTER_NAMES: dict[str, str] = {
    normalize_text(spelling): letter
    for letter, spellings in {
        "A": "ए اے", "B": "बी بی", "C": "सी سی", "D": "डी ڈی", "E": "ई ای", "F": "एफ ایف",
        "G": "जी جی", "H": "एच ایچ", "I": "आई آئی", "J": "जे جے", "K": "के کے", "L": "एल ایل",
        "M": "एम ایم", "N": "एन این", "O": "ओ او", "P": "पी پی", "Q": "क्यू کیو", "R": "आर آر",
        "S": "एस ایس", "T": "टी ٹی", "U": "यू یو", "V": "वी وی", "W": "डब्ल्यू ڈبلیو",
        "X": "एक्स ایکس", "Y": "वाई وائی", "Z": "ज़ेड زیڈ",
    }.items()
    for spelling in spellings.split()
}  # fmt: skip


def _title(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


@functools.lru_cache(maxsize=65536)
def latin_name(text: str, language: str | None = None, strip_titles: bool = True) -> str:
    """Readable Latin-script form of a name: ``नबील मुनीर`` → ``Nabil Munir``.

    Devanagari is romanised by rule (with schwa deletion), Urdu with its short vowels from the
    vowel lexicon where it knows the word (``نبیل منیر`` → ``Nabil Munir``) and guessed where it
    does not (readable, not always right), Latin is returned
    with its spacing tidied, other scripts go through uroman. ``language`` is a hint only;
    ``strip_titles`` as in :func:`name_key`.
    """
    del language
    words = _words(text, strip_titles)
    letters = [_LETTER_NAMES.get(normalize_text(word)) for word in words]
    if len(words) > 1 and all(letters):
        return "".join(cast(list[str], letters))  # ایم کیو ایم → MQM, एनडीए spelt out
    romanised: list[str] = []
    for index, word in enumerate(words):
        letter = letters[index]
        if letter and index < len(words) - 1:
            romanised.append(letter + ".")  # an initial: एस. सोमनाथ → S. Somnath
            continue
        script = script_of(word)
        if script == "Deva":
            romanised.append(_romanize_devanagari_word(word))
        elif script == "Arab":
            romanised.append(_urdu_from_lexicon(word) or _romanize_urdu_word(word))
        elif script == "Latn":
            romanised.append(word)
        else:
            romanised.append(_ascii_fold(_romanize_other(word)))
    result = " ".join(r for r in romanised if r)
    if result and all(script_of(w) == "Latn" for w in words):
        return " ".join(words)
    return _title(result)
