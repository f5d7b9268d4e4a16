"""Evaluate the bundled NER models on IL-NER: span-level exact-match P/R/F1, speed, model sizes.

Usage: python tools/eval_ner.py --data ../shared/datasets/il-ner --out bench/ner_eval.json
       [--split test|dev] [--lang hi|ur|all]

Each corpus sentence is rebuilt as running text and tagged through the public
``NerTagger.tag`` — the same path production uses, including tokenisation — and predicted spans
are matched to gold spans on exact ``(start, end, type)``.  Throughput is corpus tokens per second
of wall time spent inside ``tag`` on this (single) process, after one warm-up pass so model
loading is not counted.  Tune on dev only; run on test to report.

Which splits a model was trained on is read from the ``{lang}.training.json`` that
``tools/train_ner.py`` writes beside it: *unseen* names are those in none of them, and scoring a
split the model was trained on is refused (the shipped models learnt from train + dev, so a dev
report needs a ``--splits train`` model passed with ``--models``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.enrich.ner.corpus import GoldSentence, read_split  # noqa: E402
from services.enrich.ner.tagger import NerTagger, model_dir, training_record  # noqa: E402

TYPES = ("PER", "LOC", "ORG")


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "support": tp + fn,
        "predicted": tp + fp,
    }


def evaluate(
    tagger: NerTagger,
    sents: list[GoldSentence],
    language: str,
    seen: set[str] | None = None,
) -> dict[str, Any]:
    """Score one language's split and time the tagger on it.

    With ``seen`` (entity surface strings of the splits the model was trained on), also report
    recall on the gold entities whose text never occurs as an entity in training: the
    unseen-name weak spot.
    """
    for sent in sents[:200]:  # warm-up: model load and feature cache of the commonest words
        tagger.tag(sent.text, language)
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    unseen: Counter[str] = Counter()
    elapsed = 0.0
    for sent in sents:
        t0 = time.perf_counter()
        spans = tagger.tag(sent.text, language)
        elapsed += time.perf_counter() - t0
        predicted: set[tuple[int, int, str]] = {(s.start, s.end, s.type) for s in spans}
        gold = set(sent.spans)
        for _, _, kind in predicted & gold:
            tp[kind] += 1
        for _, _, kind in predicted - gold:
            fp[kind] += 1
        for _, _, kind in gold - predicted:
            fn[kind] += 1
        if seen is not None:
            for start, end, label in gold:
                if sent.text[start:end] not in seen:
                    unseen["support"] += 1
                    unseen["found"] += (start, end, label) in predicted
    n_tokens = sum(s.corpus_tokens for s in sents)
    per_type = {t: _prf(tp[t], fp[t], fn[t]) for t in TYPES}
    micro = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    result: dict[str, Any] = {
        "sentences": len(sents),
        "tokens": n_tokens,
        "micro": micro,
        "per_type": per_type,
        "tokens_per_second": round(n_tokens / elapsed) if elapsed else None,
        "seconds": round(elapsed, 3),
    }
    if seen is not None:
        support = unseen["support"]
        result["unseen_entities"] = {
            "support": support,
            "recall": round(unseen["found"] / support, 4) if support else 0.0,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="IL-NER directory")
    parser.add_argument("--out", type=Path, required=True, help="JSON report path")
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--lang", choices=["hi", "ur", "all"], default="all")
    parser.add_argument("--models", type=Path, help="model directory (default: bundled)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as in production
    tagger = NerTagger(args.models)
    languages = ["hi", "ur"] if args.lang == "all" else [args.lang]
    report: dict[str, Any] = {
        "corpus": "IL-NER (CC BY 4.0)",
        "split": args.split,
        "matching": "exact (start, end, type) character spans over PER/LOC/ORG, via NerTagger.tag",
        "python": platform.python_version(),
        "cores": 1,
        "languages": {},
    }
    models = args.models or model_dir()
    for language in languages:
        trained_on: list[str] = training_record(models, language).get("splits", [])
        if not trained_on:
            parser.error(f"no {language}.training.json beside the {language} model in {models}")
        if args.split in trained_on:
            parser.error(
                f"the {language} model in {models} was trained on {'+'.join(trained_on)}: scoring"
                f" {args.split} says nothing (train one with --splits train and pass --models)"
            )
        seen = {
            s.text[a:b]
            for split in trained_on
            for s in read_split(args.data, language, split)
            for a, b, _ in s.spans
        }
        result = evaluate(tagger, read_split(args.data, language, args.split), language, seen)
        result["trained_on"] = "+".join(trained_on)
        result["model_bytes"] = {
            p.name: len(p.read_bytes())
            for p in sorted(models.iterdir(), key=lambda p: p.name)
            if p.name.startswith(language + ".")
        }
        report["languages"][language] = result
        micro = result["micro"]
        print(
            f"{language} {args.split}: P {micro['precision']:.3f} R {micro['recall']:.3f} "
            f"F1 {micro['f1']:.3f} | "
            + " ".join(f"{t} {result['per_type'][t]['f1']:.3f}" for t in TYPES)
            + f" | unseen R {result['unseen_entities']['recall']:.3f}"
            + f" | {result['tokens_per_second']} tok/s"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
