"""Build the Urdu-name vowel lexicon: ``shared/data/urdu_name_lexicon.json.gz``.

Usage: python tools/build_name_lexicon.py --data ../shared/datasets/il-ner

Urdu leaves short vowels unwritten, so :func:`shared.names.latin_name` can only guess
them by rule (کمار → "Kmar"). This table maps an Urdu word's *vowel pattern* (its consonants and
long vowels, which both scripts write: :func:`~shared.names.urdu_pattern`) to Latin
spellings of words with that pattern, from two sources:

* every Devanagari word of the IL-NER Hindi train and dev splits (CC BY 4.0, see NOTICE),
  romanised by the Hindi rules, which see the vowels (कुमार → "Kumar"); words inside entity
  spans weigh four times as much as others;
* the knowledge base's English and Urdu names, word by word where both have as many words
  (لاہور → "Lahore") when the two words share their consonant skeleton (a transliteration,
  not a translation), weighing ``KB_WEIGHT``.

Each pattern keeps its ``KEEP`` heaviest spellings, best first. Deterministic (sorted output,
fixed gzip timestamp); the test split is never read.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.enrich.ner.corpus import read_split  # noqa: E402
from shared.kb import KnowledgeBase  # noqa: E402
from shared.names import (  # noqa: E402
    _romanize_devanagari_word,
    devanagari_pattern,
    name_key,
    urdu_pattern,
)

OUT = Path(__file__).resolve().parent.parent / "services" / "enrich" / "data"
KB_WEIGHT = 50
ENTITY_WEIGHT = 3  # extra weight of a word inside an entity span
KEEP = 5


def _devanagari(word: str) -> bool:
    return len(word) > 1 and any("\u0900" <= c <= "\u097f" for c in word)


def hindi_words(data: Path) -> Counter[str]:
    """Devanagari words of the Hindi train and dev splits, weighted (entity words more)."""
    weights: Counter[str] = Counter()
    for split in ("train", "dev"):
        for sentence in read_split(data, "hi", split):
            for word in sentence.text.split():
                if _devanagari(word):
                    weights[word] += 1
            for start, end, _ in sentence.spans:
                for word in sentence.text[start:end].split():
                    if _devanagari(word):
                        weights[word] += ENTITY_WEIGHT
    return weights


def build(data: Path) -> dict[str, list[list[str | int]]]:
    spellings: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for word, weight in hindi_words(data).items():
        latin = _romanize_devanagari_word(word)
        pattern = devanagari_pattern(word)
        if latin.isascii() and latin.isalpha() and pattern:
            spellings[pattern][latin[:1].upper() + latin[1:]] += weight
    for entry in KnowledgeBase.load():
        english = entry.names.get("en", "").split()
        urdu = entry.names.get("ur", "").split()
        if len(english) != len(urdu) or not all(w.isascii() and w.isalpha() for w in english):
            continue
        for latin, word in zip(english, urdu, strict=True):
            pattern = urdu_pattern(word)
            # a transliteration, not a translation (عالمی is not "International")
            if pattern and name_key(latin) == name_key(word):
                spellings[pattern][latin] += KB_WEIGHT
    return {
        pattern: [[latin, n] for latin, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))][
            :KEEP
        ]
        for pattern, counts in sorted(spellings.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="IL-NER directory")
    parser.add_argument("--out", type=Path, default=OUT / "urdu_name_lexicon.json.gz")
    args = parser.parse_args()
    patterns = build(args.data)
    payload = json.dumps(
        {"source": "IL-NER Hindi train+dev (CC BY 4.0) and the Khabar KB", "patterns": patterns},
        ensure_ascii=False,
        sort_keys=True,
    ).encode("utf-8")
    with args.out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(payload)
    print(f"wrote {args.out} ({len(patterns)} patterns, {args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
