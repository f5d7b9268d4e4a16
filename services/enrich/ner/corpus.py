"""Reading the IL-NER corpus (CC BY 4.0) into raw text plus character-offset entity spans.

Used by ``tools/train_ner.py`` and ``tools/eval_ner.py``, never at run time.  Each corpus sentence
is turned back into running text (tokens joined by spaces, Urdu compounds written ``a_b`` split
back into ``a b``) with gold spans as character offsets.  Training then re-tokenises that text with
the run-time tokeniser, and evaluation runs the public :meth:`NerTagger.tag` on it, so training,
evaluation and production all see tokens cut the same way and scores are measured on spans, not on
the corpus's own token boundaries.

Tag cleaning: NEP/NEL/NEO become PER/LOC/ORG; every other type (numbers, times, artefacts, rare
ones) becomes O.  Malformed tags seen in the Hindi files ("-NEL", "-") are repaired: a bare type
continues a preceding entity of that type or else starts one; a bare "-" is O.  ``I-`` without a
matching predecessor starts a new entity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .tokenize import tokenize

__all__ = [
    "GoldSentence",
    "LANGUAGE_FILES",
    "clean_tags",
    "read_split",
    "to_bio",
]

TYPE_MAP = {"NEP": "PER", "NEL": "LOC", "NEO": "ORG"}
LANGUAGE_FILES = {"hi": "Hindi", "ur": "Urdu"}


@dataclass(frozen=True, slots=True)
class GoldSentence:
    """One corpus sentence as running text with gold ``(start, end, type)`` spans."""

    text: str
    spans: tuple[tuple[int, int, str], ...]
    corpus_tokens: int


def clean_tags(tags: list[str]) -> list[str]:
    """Map raw IL-NER tags to BIO over PER/LOC/ORG, repairing malformed ones."""
    out: list[str] = []
    prev_type = ""
    for raw in tags:
        tag = raw.strip()
        prefix, dash, kind = tag.partition("-")
        if not dash:
            kind = ""
        mapped = TYPE_MAP.get(kind.strip(), "")
        if not mapped:
            out.append("O")
            prev_type = ""
            continue
        if prefix == "B" or prev_type != mapped:
            out.append("B-" + mapped)
        else:
            out.append("I-" + mapped)
        prev_type = mapped
    return out


def sentence_from_tokens(tokens: list[str], tags: list[str]) -> GoldSentence:
    """Join corpus tokens into text and convert BIO tags to character spans."""
    pieces: list[str] = []
    spans: list[tuple[int, int, str]] = []
    pos = 0
    open_span: list[int | str] | None = None
    for token, tag in zip(tokens, clean_tags(tags), strict=True):
        surface = token.replace("_", " ").strip() or token
        if pieces:
            pos += 1
        start, end = pos, pos + len(surface)
        pieces.append(surface)
        pos = end
        if tag.startswith("I-") and open_span is not None:
            open_span[1] = end
            continue
        if open_span is not None:
            spans.append((int(open_span[0]), int(open_span[1]), str(open_span[2])))
            open_span = None
        if tag.startswith("B-"):
            open_span = [start, end, tag[2:]]
    if open_span is not None:
        spans.append((int(open_span[0]), int(open_span[1]), str(open_span[2])))
    return GoldSentence(" ".join(pieces), tuple(spans), len(tokens))


def _raw_sentences(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    tokens: list[str] = []
    tags: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if tokens:
                    yield tokens, tags
                tokens, tags = [], []
                continue
            token, _, tag = line.partition("\t")
            if not token.strip():
                continue
            tokens.append(token.strip())
            tags.append(tag)
    if tokens:
        yield tokens, tags


def read_split(
    data: Path,
    language: str,
    split: str,
    token_map: Callable[[list[str]], list[str]] | None = None,
) -> list[GoldSentence]:
    """Read ``{Hindi,Urdu}-{split}.txt``; ``token_map`` may rewrite tokens (e.g. transliterate)."""
    path = data / f"{LANGUAGE_FILES[language]}-{split}.txt"
    result = []
    for tokens, tags in _raw_sentences(path):
        if token_map is not None:
            tokens = token_map(tokens)
        result.append(sentence_from_tokens(tokens, tags))
    return result


def to_bio(sentence: GoldSentence) -> tuple[list[str], list[str]]:
    """Tokenise a gold sentence with the run-time tokeniser and label its tokens BIO."""
    words: list[str] = []
    labels: list[str] = []
    spans = sentence.spans
    j = 0
    for start, end in tokenize(sentence.text):
        while j < len(spans) and spans[j][1] <= start:
            j += 1
        label = "O"
        if j < len(spans) and spans[j][0] <= start < spans[j][1]:
            label = ("B-" if start == spans[j][0] else "I-") + spans[j][2]
        words.append(sentence.text[start:end])
        labels.append(label)
    return words, labels
