"""Rule-based English entity candidates: capitalised-name runs typed by cue words.

There is no English NER corpus among the project's datasets, and the model packages on the
registry are heavy (spaCy + torch-free but ~50 MB models) and of unclear provenance, so English gets
a small deterministic heuristic instead of a learned model.  It proposes runs of capitalised
tokens (joined across "of", "the", "and", "&", "bin", ...), drops sentence-initial function words,
months, weekdays and demonyms, strips honorifics (which then type the run as PER), and types the
rest by cue words (Ministry, Party, University -> ORG; City, Province, -stan, -abad -> LOC;
Mr, President, "... said" -> PER).  Scores are deliberately low (0.3-0.7): the enrich stage's
multilingual knowledge base resolves countries, cities and well-known organisations separately
and should win when both fire.
"""

from __future__ import annotations

import re
from itertools import compress
from typing import cast

from .tokenize import sentence_starts, tokenize_words

__all__ = ["tag"]

_CONNECTORS = frozenset({"of", "the", "and", "&", "for", "de", "al", "bin", "ul", "-", "'", "’"})
_TITLES = frozenset(
    """mr mrs ms miss dr prof sir lord lady sheikh maulana mufti justice judge president
    minister premier chancellor governor senator sen rep gen general lt col colonel maj major capt
    captain commander chief chairman chairperson secretary ambassador king queen prince princess
    pope imam mayor marshal admiral inspector officer spokesman spokeswoman sardar begum shri sri
    smt pm cm barrister advocate mullah""".split()
)
# "Prime Minister", "Foreign Minister", "Chief Justice": stripped only before a title word.
_TITLE_MODIFIERS = frozenset(
    """prime vice deputy foreign former federal interior finance chief defence defense home
    army opposition state provincial acting caretaker""".split()
)
_ORG_CUES = frozenset(
    """ministry party army university bank council committee commission court police corporation
    company corp inc ltd llc plc group association league front movement organisation organization
    agency department board authority institute federation union assembly parliament senate
    congress times post news television tv network airlines airways force forces navy bureau
    office fund foundation society college school club fc corps brigade secretariat cabinet
    government tribunal exchange trust alliance coalition channel radio press media services
    industries holdings motors hospital academy centre center museum embassy commission""".split()
)
_LOC_CUES = frozenset(
    """city province state district valley river mountain mountains sea ocean island islands street
    road avenue airport square county region town village lake bay gulf desert peninsula
    kingdom republic emirates territory border""".split()
)
_LOC_SUFFIX_RE = re.compile(r"(?:stan|abad|pur|pura|garh|nagar|ganj|kot|shahr|land|ia)$")
_PLACES = frozenset(
    """pakistan india china russia iran iraq afghanistan bangladesh nepal sri lanka bhutan
    america us usa uk britain england france germany japan turkey saudi arabia qatar dubai
    israel palestine gaza egypt syria ukraine europe asia africa london washington delhi
    mumbai karachi lahore islamabad kabul beijing moscow tehran kashmir punjab sindh balochistan
    peshawar quetta dhaka kolkata chennai bengaluru bangalore hyderabad rawalpindi multan
    faisalabad paris berlin tokyo new york""".split()
)
_SKIP_WORDS = frozenset(
    """the a an in on at to for of and but or if as by from with this that these those it its
    he she they we i you his her their our my your there here when while after before during
    however meanwhile also yet so then now today yesterday tomorrow according since although
    though because what who which where why how all some many most more several other another
    each every no not one two three new last next first according monday tuesday wednesday
    thursday friday saturday sunday january february march april may june july august september
    october november december mon tue wed thu fri sat sun jan feb mar apr jun jul aug sep sept
    oct nov dec officials residents analysts experts sources witnesses critics lawmakers
    authorities observers protesters well yes oh okay ok still instead maybe""".split()
)
_DEMONYM_RE = re.compile(r"(?:ian|ese|ish|ani|i|an)$")
_ADJECTIVE_DEMONYM_RE = re.compile(r"(?:ean|ian|ese|ish)$")
_SPEECH = frozenset({"said", "says", "told", "added", "stated", "asked", "claimed", "noted"})
_SENTENCE_END = frozenset(".!?:\"”’')")
_PLACE_PREPOSITIONS = frozenset({"in", "at", "from", "near", "across", "towards"})


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and word[:1].isalpha()


def _written_in_lower_case(text: str, word: str) -> bool:
    """Whether ``text`` has ``word`` in lower case as a whole word ("trade")."""
    lower = word.lower()
    at = text.find(lower)
    while at >= 0:
        end = at + len(lower)
        if (at == 0 or not text[at - 1].isalnum()) and (
            end == len(text) or not text[end].isalnum()
        ):
            return True
        at = text.find(lower, at + 1)
    return False


def _written_as_name(text: str, word: str) -> bool:
    """Whether ``text`` writes ``word`` capitalised where capitals mean a name — after a
    lowercase word, a comma or another name word ("Mike Pompeo"), not after a sentence end —
    and never in lower case: a sentence-initial word with no other evidence is a name only then
    ("Trade between ..." is not one)."""
    if _written_in_lower_case(text, word):
        return False
    size = len(word)
    at = text.find(word)
    while at >= 0:
        end = at + size
        if end == len(text) or not text[end].isalnum():
            head = text[max(0, at - 40) : at].split()
            previous = head[-1] if head else ""
            if previous[-1:] in (",", ";", "("):
                return True
            if previous[-1:] not in _SENTENCE_END and (
                previous[:1].islower()  # "said Pompeo"
                or (
                    _is_capitalised(previous) and previous.lower() not in _SKIP_WORDS
                )  # "Mike Pompeo"
            ):
                return True
        at = text.find(word, at + 1)
    return False


#: word -> whether it is capitalised (news vocabulary repeats, so tagging reads this table with
#: one C-level ``map`` per text instead of calling :func:`_is_capitalised` per token, and visits
#: only the capitalised tokens; with the compiled tokeniser, English tagging of the benchmark's
#: leads went from 0.55 to ~0.4 ms an article, measured)
_CAPITALISED: dict[str, bool] = {}
_MAX_CACHED_WORDS = 200_000


def _capitalised(words: list[str]) -> list[bool]:
    flags = list(map(_CAPITALISED.get, words))
    if None in flags:
        if len(_CAPITALISED) > _MAX_CACHED_WORDS:
            _CAPITALISED.clear()
        for k, word in enumerate(words):
            if flags[k] is None:
                flags[k] = _CAPITALISED[word] = _is_capitalised(word)
    return cast(list[bool], flags)


def tag(text: str) -> list[tuple[int, int, str, float]]:
    """``(start, end, type, score)`` candidates for PER/ORG/LOC in English ``text``."""
    result: list[tuple[int, int, str, float]] = []
    starts, ends, all_words, breaks = tokenize_words(text)
    bounds = sentence_starts(text, starts, ends, all_words, breaks)
    all_capitalised = _capitalised(all_words)
    all_lowered = list(map(str.lower, all_words))
    for first, stop in zip(bounds, bounds[1:], strict=False):
        capitalised = all_capitalised[first:stop]
        if True not in capitalised:
            continue
        sentence = list(zip(starts[first:stop], ends[first:stop], strict=True))
        words = all_words[first:stop]
        lowered = all_lowered[first:stop]
        size = len(words)
        j = 0
        # runs start only at capitalised words: visit those, not every token
        for i in compress(range(size), capitalised):
            if i < j:
                continue  # inside the previous run
            j = i + 1
            while j < size:
                if capitalised[j]:
                    j += 1
                elif (
                    lowered[j] in _CONNECTORS
                    and j + 1 < size
                    and capitalised[j + 1]
                    and not (lowered[j] in {"-", "'", "’"} and sentence[j][0] != sentence[j - 1][1])
                ):
                    j += 2
                else:
                    break
            _emit(text, sentence, words, lowered, i, j, result)
    return result


def _emit(
    text: str,
    sentence: list[tuple[int, int]],
    words: list[str],
    lowered: list[str],
    i: int,
    j: int,
    result: list[tuple[int, int, str, float]],
) -> None:
    """Trim, type and score one capitalised run ``words[i:j]``."""
    i, j, titled = _trimmed(lowered, i, j)
    if i >= j:
        return
    run = lowered[i:j]
    if j - i > 2 and "and" in run and _ORG_CUES.isdisjoint(run):
        # "Sergio Aguero and Raheem Sterling" is two names; "Ministry of Law and Justice" one
        cut = i + run.index("and")
        _emit(text, sentence, words, lowered, i, cut, result)
        _emit(text, sentence, words, lowered, cut + 1, j, result)
        return
    # "Punjab Information Minister Azma Bokhari": the person is what follows the last title
    if j - i > 1 and not _TITLES.isdisjoint(run[:-1]):
        last_title = max(k for k in range(i, j - 1) if lowered[k] in _TITLES)
        if not any(w in _ORG_CUES for w in lowered[last_title + 1 : j]):
            titled, i = True, last_title + 1  # ("Prime Minister Office" stays an office)
    if _no_name(text, sentence, words, i, j):
        return
    typed = _typed(text, words, lowered, i, j, titled)
    if typed is not None:
        result.append((sentence[i][0], sentence[j - 1][1], *typed))


def _trimmed(lowered: list[str], i: int, j: int) -> tuple[int, int, bool]:
    """The run without leading skip words and titles or trailing connectors, and whether a
    title stood before the name."""
    titled = i > 0 and (
        lowered[i - 1] in _TITLES or (lowered[i - 1] == "." and i > 1 and lowered[i - 2] in _TITLES)
    )
    while i < j and (
        lowered[i] in _SKIP_WORDS
        or lowered[i] in _TITLES
        or (lowered[i] in _TITLE_MODIFIERS and i + 1 < j and lowered[i + 1] in _TITLES)
    ):
        titled = titled or lowered[i] in _TITLES
        i += 1
    # (a possessive "India's" ends the run before the apostrophe: a connector)
    while j > i and (lowered[j - 1] in _CONNECTORS or lowered[j - 1] in _SKIP_WORDS):
        j -= 1
    return i, j, titled


def _no_name(text: str, sentence: list[tuple[int, int]], words: list[str], i: int, j: int) -> bool:
    """Runs that are capitalised for another reason than naming something."""
    start = sentence[i][0]
    if start and text[start - 1] in "@#":
        return True  # a handle or hashtag
    if j - i == 1 and j < len(words) and words[j][:1].isdigit():
        return True  # "Section 144", "Article 370"
    word = words[i]
    if j - i == 1 and len(word) == 1:
        return True
    # shouted text ("THANK YOU FOR STANDING UP"), not a name
    return word.isupper() and (j - i >= 3 or len(word) > 6) and all(w.isupper() for w in words[i:j])


def _typed(
    text: str, words: list[str], lowered: list[str], i: int, j: int, titled: bool
) -> tuple[str, float] | None:
    """The type and score of the name ``words[i:j]`` from its cue words and context; None when
    it is no name after all (a demonym, a sentence's capitalised first word)."""
    run = lowered[i:j]
    single = j - i == 1
    word = words[i]
    if run[-1] in _LOC_CUES and not single:  # "Islamabad International Airport"
        return "LOC", 0.6
    if not _ORG_CUES.isdisjoint(run) or (run[-1] == "international" and not single):
        return "ORG", 0.6  # "Amnesty International"
    if not _LOC_CUES.isdisjoint(run) or " ".join(run) in _PLACES or run[-1] in _PLACES:
        return "LOC", 0.6
    if titled:
        return "PER", 0.65
    if single and word.isupper() and 2 <= len(word) <= 6:  # an acronym
        return ("LOC", 0.5) if word in {"US", "USA", "UK", "UAE"} else ("ORG", 0.5)
    if (
        j < len(words)
        and lowered[j] in _LOC_CUES
        and not _is_capitalised(words[j])
        and not (single and _ADJECTIVE_DEMONYM_RE.search(run[0]))  # "Korean peninsula"
    ):
        return "LOC", 0.5  # "the Torkham border", "Swat valley"
    if single and _LOC_SUFFIX_RE.search(run[0]) and len(run[0]) > 4:
        return "LOC", 0.4
    if i > 0 and lowered[i - 1] in _PLACE_PREPOSITIONS:
        return "LOC", 0.35
    if j < len(words) and lowered[j] in _SPEECH:
        return "PER", 0.55
    if single and _DEMONYM_RE.search(run[0]):
        return None
    if (
        single
        and all(w in _SKIP_WORDS or not w[:1].isalnum() for w in lowered[:i])
        and not _written_as_name(text, word)
    ):
        return None  # capitalised only because it starts the sentence
    return "PER", 0.4 if not single else 0.3
