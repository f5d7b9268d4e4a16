"""Train the Hindi and Urdu CRF named-entity models shipped in services/enrich/ner/models/.

Usage: python tools/train_ner.py --data ../shared/datasets/il-ner [--lang hi|ur|all]

Deterministic: the corpus is read in file order, L-BFGS has no random state, the frequency
table is written sorted with a fixed gzip timestamp, and the transliteration is a pure
function.  One core.

The Urdu model is trained on Urdu train plus Hindi train transliterated into Urdu script with
aksharamukha (Hindi and Urdu share most names; this more than doubles the Urdu entities).
Word-frequency buckets are counted on the training text only — dev and test text is never used —
and shipped as a ``{lang}.freq.json.gz`` table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from pathlib import Path

import pycrfsuite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.enrich.ner.corpus import GoldSentence, read_split, to_bio  # noqa: E402
from services.enrich.ner.features import FeatureExtractor, frequency_buckets  # noqa: E402

MODEL_DIR = Path(__file__).resolve().parent.parent / "services" / "enrich" / "ner" / "models"
_ARABIC_MARKS_RE = re.compile("[\u064b-\u065f\u0670]")

DEFAULT_PARAMS: dict[str, dict[str, float]] = {
    "hi": {"c1": 0.02, "c2": 0.05, "max_iterations": 150},
    "ur": {"c1": 0.02, "c2": 0.05, "max_iterations": 150},
}


def transliterate_tokens(tokens: list[str], cache: dict[str, str]) -> list[str]:
    """Devanagari tokens -> Urdu script, one aksharamukha call per batch of unseen tokens."""
    from aksharamukha import transliterate

    missing = sorted({t for t in tokens if t not in cache})
    batch = 2000
    for k in range(0, len(missing), batch):
        chunk = missing[k : k + batch]
        converted = transliterate.process(
            "Devanagari", "Urdu", "\n".join(chunk), post_options=["UrduRemoveShortVowels"]
        ).split("\n")
        if len(converted) != len(chunk):  # fall back to one call per token
            converted = [
                transliterate.process(
                    "Devanagari", "Urdu", t, post_options=["UrduRemoveShortVowels"]
                )
                for t in chunk
            ]
        for src, dst in zip(chunk, converted, strict=True):
            dst = _ARABIC_MARKS_RE.sub("", dst).replace("\u0964", "۔").strip()
            cache[src] = dst or src
    return [cache[t] for t in tokens]


def training_sentences(data: Path, language: str, augment: bool) -> list[GoldSentence]:
    """The gold sentences a language's model trains on."""
    sents = read_split(data, language, "train")
    if language == "ur" and augment:
        cache: dict[str, str] = {}
        hindi = read_split(data, "hi", "train", lambda toks: transliterate_tokens(toks, cache))
        sents = sents + hindi
    return sents


def train(
    data: Path,
    language: str,
    out_dir: Path,
    params: dict[str, float],
    augment: bool = True,
    frequencies: bool = True,
) -> None:
    """Train one language's model and write it (plus its frequency table) into ``out_dir``."""
    started = time.monotonic()
    sents = training_sentences(data, language, augment)
    bio = [to_bio(s) for s in sents]
    freq_table = frequency_buckets(words for words, _ in bio) if frequencies else {}
    extractor = FeatureExtractor(frequencies=freq_table)
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params(
        {
            "c1": params["c1"],
            "c2": params["c2"],
            "max_iterations": int(params["max_iterations"]),
            "feature.possible_transitions": True,
        }
    )
    for words, labels in bio:
        trainer.append(extractor.sentence_features(words), labels)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{language}.crfsuite"
    trainer.train(str(model_path))
    table_path = out_dir / f"{language}.freq.json.gz"
    if freq_table:
        payload = json.dumps(freq_table, ensure_ascii=False, sort_keys=True).encode("utf-8")
        with table_path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(payload)
    elif table_path.exists():
        table_path.unlink()
    n_tokens = sum(len(w) for w, _ in bio)
    print(
        f"{language}: {len(bio)} sentences, {n_tokens} tokens, "
        f"{len(freq_table)} frequent words,"
        f" model {model_path.stat().st_size / 1e6:.2f} MB, {time.monotonic() - started:.0f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="IL-NER directory")
    parser.add_argument("--lang", choices=["hi", "ur", "all"], default="all")
    parser.add_argument("--out", type=Path, default=MODEL_DIR)
    parser.add_argument("--c1", type=float)
    parser.add_argument("--c2", type=float)
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--no-augment", action="store_true", help="Urdu: skip transliterated Hindi")
    parser.add_argument("--no-frequencies", action="store_true", help="drop frequency features")
    args = parser.parse_args()
    languages = ["hi", "ur"] if args.lang == "all" else [args.lang]
    for language in languages:
        params = dict(DEFAULT_PARAMS[language])
        if args.c1 is not None:
            params["c1"] = args.c1
        if args.c2 is not None:
            params["c2"] = args.c2
        if args.iterations is not None:
            params["max_iterations"] = args.iterations
        train(
            args.data,
            language,
            args.out,
            params,
            augment=not args.no_augment,
            frequencies=not args.no_frequencies,
        )


if __name__ == "__main__":
    main()
