"""Evaluate NER on IL-NER, by the tagger alone and through the whole product: exact-span P/R/F1.

Usage: python tools/eval_ner.py --data ../shared/datasets/il-ner --out bench/ner_eval.json
       [--split test|dev] [--lang hi|ur|all] [--through tagger|product|both] [--models DIR]

**Tagger**: each corpus sentence is rebuilt as running text and tagged through the public
``NerTagger.tag`` (production's tokenisation included); predicted spans are matched to gold
spans on exact ``(start, end, type)``. Throughput is corpus tokens per second of wall time
inside ``tag`` on one core, after a warm-up pass so model loading is not counted.

**Product**: each sentence is one ``RawArticle`` through ``Enricher().enrich`` (cleaning,
language, knowledge base, title trimming, type voting, entity building), the way an analyst
sees it; every PER/LOC/ORG entity's mentions are mapped back to sentence offsets and scored
the same way. The article has **no title** and the sentence as its body: a given title (even a
neutral word) makes the cleaner treat a short line without a sentence end as page furniture
(67 of 1,094 Urdu dev sentences went), while without one such a line becomes the inferred
headline, whose mentions are mapped back just as the body's (3 Urdu dev sentences were still
dropped: a line of place names alone reads as a dateline). What cleaning or language
identification still loses is counted, not hidden: see ``product_losses``.

``product_losses`` counts the gold entities the tagger alone got right and the product lost,
by the first stage that changed them (``Enricher.entity_stages``): ``language`` (identified as
another language), ``cleaning`` (the text was dropped or changed), ``span_boundaries`` (the
tagger, reading the cleaned field, found other bounds), ``date_filter``, ``title_trimming``
(a person's titles cut: bounds changed or nothing left), ``entity_building`` (a defined short
name, an overlapping model or rule mention, or the built entity's type), ``type_voting`` (one
type per unlinked name), ``knowledge_base`` (an overlapping KB match won, or the KB entry's
type replaced the tagger's). ``product_gains`` counts the reverse, by the mention's source, and
``product_added_false_positives`` the wrong spans the product added, by cause. Knowledge-base
matches of text the training gold holds but never marks (IL-NER leaves "लोकसभा" and "अरब लीग"
unannotated) are ``kb_unannotated_in_train``: an annotation convention rather than an error an
analyst would see; ``product_without_kb_unannotated_in_train`` scores the product without them.

Hindi test shares 235 sentences with Hindi train (same normalised text): scores are also given
without them (``without_train_duplicates``). Every score carries a bootstrap 95% interval of
micro F1 (1,000 resamples of sentences, seed 19): Urdu test has only ~270 entities.

Which splits a model was trained on is read from the ``{lang}.training.json`` that
``tools/train_ner.py`` writes beside it: *unseen* names are those in none of them, and scoring a
split the model was trained on is refused (the shipped models learnt from train + dev, so a dev
report needs a ``--splits train`` model passed with ``--models``). Choose on dev; read test once.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.enrich import dates  # noqa: E402
from services.enrich.ner.corpus import GoldSentence, read_split  # noqa: E402
from services.enrich.ner.tagger import NerTagger, model_dir, training_record  # noqa: E402
from services.enrich.pipeline import Candidate, Enricher, EntityStages, lead_cut  # noqa: E402
from shared.ids import article_id  # noqa: E402
from shared.models import RawArticle  # noqa: E402
from shared.text import normalize_text  # noqa: E402

TYPES = ("PER", "LOC", "ORG")
Span = tuple[int, int, str]
#: Per sentence: true positives, false positives, false negatives, per type in TYPES order.
Counts = np.ndarray
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BOOTSTRAP_SEED = 19
BOOTSTRAP_ROUNDS = 1000


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


def _counts(predicted: set[Span], gold: set[Span]) -> Counts:
    row = np.zeros((3, len(TYPES)), dtype=np.int64)
    for k, group in enumerate((predicted & gold, predicted - gold, gold - predicted)):
        for _, _, kind in group:
            row[k, TYPES.index(kind)] += 1
    return row


def _f1(totals: np.ndarray) -> np.ndarray:
    """Micro F1 of ``(..., 3, types)`` count totals, over the last two axes."""
    tp, fp, fn = (totals[..., k, :].sum(axis=-1) for k in range(3))
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def bootstrap_interval(counts: Counts, rounds: int = BOOTSTRAP_ROUNDS) -> list[float]:
    """95% percentile interval of micro F1 over sentences resampled with replacement."""
    if not len(counts):
        return [0.0, 0.0]
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = rng.integers(0, len(counts), size=(rounds, len(counts)))
    scores = _f1(counts[draws].sum(axis=1))
    low, high = np.percentile(scores, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def score(counts: Counts) -> dict[str, Any]:
    """Micro and per-type P/R/F1 of per-sentence counts, with the bootstrap interval."""
    total = counts.sum(axis=0) if len(counts) else np.zeros((3, len(TYPES)), dtype=np.int64)
    micro: dict[str, Any] = {**_prf(*(int(total[k].sum()) for k in range(3)))}
    micro["f1_95"] = bootstrap_interval(counts)
    per_type = {t: _prf(*(int(total[k, i]) for k in range(3))) for i, t in enumerate(TYPES)}
    return {"sentences": len(counts), "micro": micro, "per_type": per_type}


def tag_sentences(
    tagger: NerTagger, sents: list[GoldSentence], language: str
) -> tuple[list[set[Span]], float]:
    """The tagger's spans of every sentence, and the seconds spent inside ``tag``."""
    for sent in sents[:200]:  # warm-up: model load and feature cache of the commonest words
        tagger.tag(sent.text, language)
    predicted: list[set[Span]] = []
    elapsed = 0.0
    for sent in sents:
        t0 = time.perf_counter()
        spans = tagger.tag(sent.text, language)
        elapsed += time.perf_counter() - t0
        predicted.append({(s.start, s.end, s.type) for s in spans})
    return predicted, elapsed


def unseen_recall(
    sents: list[GoldSentence], predicted: list[set[Span]], seen: set[str]
) -> dict[str, Any]:
    """Recall on gold entities whose text never occurs as an entity in training: the unseen-name
    weak spot."""
    support = found = 0
    for sent, spans in zip(sents, predicted, strict=True):
        for gold in sent.spans:
            if sent.text[gold[0] : gold[1]] not in seen:
                support += 1
                found += gold in spans
    return {"support": support, "recall": round(found / support, 4) if support else 0.0}


# --------------------------------------------------------------------------- through the product


def sentence_article(sent: GoldSentence, language: str) -> RawArticle:
    """One sentence as an article: no title, the sentence as its body (module docstring)."""
    return RawArticle(
        id=article_id(url=None, title=None, body=sent.text),
        title=None,
        body=sent.text,
        language_hint=language,
    )


def offset_map(source: str, target: str) -> Callable[[int, int], tuple[int, int] | None]:
    """Maps a span of ``source`` to the same characters of ``target`` (``None`` when the
    cleaner changed them): identity for equal texts, else difflib's matching blocks."""
    if source == target:
        return lambda start, end: (start, end)
    at = target.find(source) if source else -1
    if at >= 0:
        return lambda start, end: (start + at, end + at)
    blocks = difflib.SequenceMatcher(None, source, target, autojunk=False).get_matching_blocks()

    def mapped(start: int, end: int) -> tuple[int, int] | None:
        for a, b, size in blocks:
            if a <= start and end <= a + size:
                return start - a + b, end - a + b
        return None

    return mapped


def product_spans(
    fields: dict[str, str], mentions: Iterable[tuple[str, int, int, str]], sentence: str
) -> dict[Span, tuple[str, int, int]]:
    """Sentence spans of the PER/LOC/ORG mentions ``(field, start, end, type)``, each with the
    field span it came from."""
    maps = {name: offset_map(text, sentence) for name, text in fields.items()}
    found: dict[Span, tuple[str, int, int]] = {}
    for field, start, end, kind in mentions:
        if kind not in TYPES:
            continue
        bounds = maps[field](start, end)
        if bounds is not None:
            found[(*bounds, kind)] = (field, start, end)
    return found


def _overlapping(
    candidates: Sequence[Candidate], field: str, start: int, end: int
) -> list[Candidate]:
    return [c for c in candidates if c.field == field and c.start < end and start < c.end]


def loss_cause(
    enricher: Enricher, stages: EntityStages, sent: GoldSentence, gold: Span, language: str
) -> str:
    """The first stage of the entity step that lost ``gold``, a span the tagger alone found."""
    if stages.language != language:
        return "language"
    located = None
    for name, text in (("title", stages.title), ("body", stages.body)):
        bounds = offset_map(sent.text, text)(gold[0], gold[1])
        if bounds is not None and text[bounds[0] : bounds[1]] == sent.text[gold[0] : gold[1]]:
            located = (name, text, *bounds)
            break
    if located is None:
        return "cleaning"
    field, text, start, end = located
    kind = gold[2]
    tagged = enricher.tagger.tag(text[: lead_cut(text, 2_000)], language)
    if not any((s.start, s.end, s.type) == (start, end, kind) for s in tagged):
        return "span_boundaries"

    def exact(candidates: Sequence[Candidate]) -> Candidate | None:
        return next(
            (
                c
                for c in candidates
                if (c.field, c.start, c.end) == (field, start, end) and c.source == "model"
            ),
            None,
        )

    proposed = exact(stages.proposed)
    if proposed is None or proposed.type != kind:
        return "date_filter" if dates.is_date_word(gold_text(sent, gold)) else "title_trimming"
    defined = exact(stages.defined)
    if defined is None or defined.type != kind:
        return "entity_building"
    voted = exact(stages.voted)
    if voted is None or voted.type != kind:
        return "type_voting"
    if exact(stages.kept) is None:
        rivals = _overlapping(stages.kept, field, start, end)
        return "knowledge_base" if any(c.source == "kb" for c in rivals) else "entity_building"
    return "knowledge_base" if voted.entry is not None else "entity_building"


def gold_text(sent: GoldSentence, gold: Span) -> str:
    return sent.text[gold[0] : gold[1]]


class Convention:
    """What the training gold does with a surface: IL-NER leaves some names unannotated however
    often they occur (Hindi train: "लोकसभा" 23 times, never an entity; "अरब लीग" 15, never), so a
    knowledge-base match of one counts against the product by convention, not by error."""

    def __init__(self, sents: Iterable[GoldSentence]) -> None:
        sents = list(sents)
        self.annotated = {s.text[a:b] for s in sents for a, b, _ in s.spans}
        self.text = "\n".join(s.text for s in sents)

    def unannotated(self, surface: str) -> bool:
        """Whether the training text holds ``surface`` but never as (part of) an entity."""
        return surface in self.text and not any(surface in name for name in self.annotated)


def _false_positive_cause(
    span: Span, surface: str, source: str, alone: set[Span], convention: Convention
) -> str:
    """Why the product predicted a wrong span the tagger alone did not: a knowledge-base match
    (``kb_unannotated_in_train`` when training gold never marks that text), a short name defined
    in brackets (``rule``), or a tagger span re-typed or re-bounded."""
    if source == "kb" and convention.unannotated(surface):
        return "kb_unannotated_in_train"
    if source != "model":
        return source
    if any(s[:2] == span[:2] for s in alone):
        return "model_retyped"
    return "model_rebounded"


def _example(examples: dict[str, list[str]], cause: str, text: str, keep: int = 8) -> None:
    shown = examples.setdefault(cause, [])
    if len(shown) < keep:
        shown.append(text)


def _article_spans(
    enricher: Enricher, sent: GoldSentence, language: str
) -> tuple[dict[Span, tuple[str, int, int]], dict[tuple[str, int, int], str]]:
    """The sentence's spans through ``Enricher.enrich`` (each with its field span), and each
    mention's source by field span."""
    article = enricher.enrich(sentence_article(sent, language), now=NOW)
    fields = {"title": article.title or "", "body": article.body}
    found = product_spans(
        fields,
        ((m.field, m.start, m.end, e.type) for e in article.entities for m in e.mentions),
        sent.text,
    )
    sources: dict[tuple[str, int, int], str] = {
        (m.field, m.start, m.end): m.source for e in article.entities for m in e.mentions
    }
    return found, sources


def run_product(
    enricher: Enricher,
    sents: list[GoldSentence],
    language: str,
    tagger_spans: list[set[Span]],
    convention: Convention,
) -> tuple[list[set[Span]], dict[str, Any]]:
    """Every sentence through ``Enricher.enrich``: its spans, and where the points went."""
    predicted: list[set[Span]] = []
    by_convention: list[set[Span]] = []  # the kb_unannotated_in_train false positives
    losses: Counter[str] = Counter()
    lost_by_type: Counter[str] = Counter()
    gains: Counter[str] = Counter()
    added: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for sent, alone in zip(sents, tagger_spans, strict=True):
        found, sources = _article_spans(enricher, sent, language)
        spans = set(found)
        predicted.append(spans)
        spans_by_convention: set[Span] = set()
        by_convention.append(spans_by_convention)
        gold = set(sent.spans)
        for span in sorted((gold & spans) - alone):
            gains[sources.get(found[span], "?")] += 1
        for span in sorted(spans - gold - alone):
            source = sources.get(found[span], "?")
            cause = _false_positive_cause(span, gold_text(sent, span), source, alone, convention)
            if cause == "kb_unannotated_in_train":
                spans_by_convention.add(span)
            added[cause] += 1
            _example(examples, f"added {cause}", f"{span[2]} {gold_text(sent, span)!r}")
        lost = sorted((gold & alone) - spans)
        if not lost:
            continue
        stages = enricher.entity_stages(sentence_article(sent, language))
        for span in lost:
            cause = loss_cause(enricher, stages, sent, span, language)
            losses[cause] += 1
            lost_by_type[span[2]] += 1
            _example(examples, cause, f"{span[2]} {gold_text(sent, span)!r}")
    report = {
        "product_losses": dict(losses.most_common()),
        "product_losses_by_type": {t: lost_by_type[t] for t in TYPES},
        "product_loss_examples": examples,
        "product_gains": dict(gains.most_common()),
        "product_added_false_positives": dict(added.most_common()),
    }
    counts = np.array(
        [
            _counts(p - c, set(s.spans))
            for s, p, c in zip(sents, predicted, by_convention, strict=True)
        ]
    )
    report["product_without_kb_unannotated_in_train"] = score(counts)["micro"]
    return predicted, report


# --------------------------------------------------------------------------- report


def _train_duplicates(data: Path, language: str, sents: list[GoldSentence]) -> list[bool]:
    """Which sentences also appear in the language's train split (same normalised text)."""
    train = {normalize_text(s.text) for s in read_split(data, language, "train")}
    return [normalize_text(s.text) in train for s in sents]


def _scored(
    sents: list[GoldSentence], predicted: list[set[Span]], keep: list[bool] | None
) -> dict[str, Any]:
    counts = np.array([_counts(p, set(s.spans)) for s, p in zip(sents, predicted, strict=True)])
    result = score(counts)
    if keep is not None and not all(keep):
        result["without_train_duplicates"] = score(counts[np.array(keep)])
    return result


def evaluate_language(
    args: argparse.Namespace, tagger: NerTagger, enricher: Enricher | None, language: str
) -> dict[str, Any]:
    """Tagger and (with an enricher) product scores of one language's split."""
    models = args.models or model_dir()
    trained_on: list[str] = training_record(models, language).get("splits", [])
    seen = {
        s.text[a:b]
        for split in trained_on
        for s in read_split(args.data, language, split)
        for a, b, _ in s.spans
    }
    sents = read_split(args.data, language, args.split)
    dupes = _train_duplicates(args.data, language, sents)
    keep = [not d for d in dupes]
    tagged, elapsed = tag_sentences(tagger, sents, language)
    n_tokens = sum(s.corpus_tokens for s in sents)
    tagger_report = _scored(sents, tagged, keep)
    tagger_report["unseen_entities"] = unseen_recall(sents, tagged, seen)
    tagger_report["tokens_per_second"] = round(n_tokens / elapsed) if elapsed else None
    result: dict[str, Any] = {"sentences": len(sents), "tokens": n_tokens}
    result["train_duplicates"] = sum(dupes)
    result["tagger"] = tagger_report
    if enricher is not None:
        t0 = time.perf_counter()
        train = read_split(args.data, language, "train")
        product, losses = run_product(enricher, sents, language, tagged, Convention(train))
        product_report = _scored(sents, product, keep)
        product_report["unseen_entities"] = unseen_recall(sents, product, seen)
        product_report["articles_per_second"] = round(len(sents) / (time.perf_counter() - t0))
        result["product"] = product_report
        result.update(losses)
    result["trained_on"] = "+".join(trained_on)
    result["model_bytes"] = {
        p.name: len(p.read_bytes())
        for p in sorted(models.iterdir(), key=lambda p: p.name)
        if p.name.startswith(language + ".")
    }
    return result


def _summary(language: str, split: str, name: str, report: dict[str, Any]) -> str:
    micro = report["micro"]
    line = (
        f"{language} {split} {name:7s}: P {micro['precision']:.3f} R {micro['recall']:.3f} "
        f"F1 {micro['f1']:.3f} [{micro['f1_95'][0]:.3f}, {micro['f1_95'][1]:.3f}] | "
        + " ".join(f"{t} {report['per_type'][t]['f1']:.3f}" for t in TYPES)
    )
    clean = report.get("without_train_duplicates")
    return line + (f" | without train duplicates {clean['micro']['f1']:.3f}" if clean else "")


def _check_models(parser: argparse.ArgumentParser, args: argparse.Namespace, lang: str) -> None:
    models = args.models or model_dir()
    trained_on: list[str] = training_record(models, lang).get("splits", [])
    if not trained_on:
        parser.error(f"no {lang}.training.json beside the {lang} model in {models}")
    if args.split in trained_on:
        parser.error(
            f"the {lang} model in {models} was trained on {'+'.join(trained_on)}: scoring"
            f" {args.split} says nothing (train one with --splits train and pass --models)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, required=True, help="IL-NER directory")
    parser.add_argument("--out", type=Path, required=True, help="JSON report path")
    parser.add_argument("--split", choices=["dev", "test"], default="test")
    parser.add_argument("--lang", choices=["hi", "ur", "all"], default="all")
    parser.add_argument("--through", choices=["tagger", "product", "both"], default="both")
    parser.add_argument("--models", type=Path, help="model directory (default: bundled)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as in production
    languages = ["hi", "ur"] if args.lang == "all" else [args.lang]
    for language in languages:
        _check_models(parser, args, language)
    tagger = NerTagger(args.models)
    enricher = Enricher(tagger=tagger) if args.through != "tagger" else None
    report: dict[str, Any] = {
        "corpus": "IL-NER (CC BY 4.0)",
        "split": args.split,
        "matching": "exact (start, end, type) character spans over PER/LOC/ORG; tagger: "
        "NerTagger.tag; product: Enricher().enrich, one untitled article per sentence",
        "bootstrap": f"{BOOTSTRAP_ROUNDS} resamples of sentences, seed {BOOTSTRAP_SEED}, 95%",
        "python": platform.python_version(),
        "cores": 1,
        "languages": {},
    }
    for language in languages:
        result = evaluate_language(args, tagger, enricher, language)
        if args.through == "product":
            del result["tagger"]
        report["languages"][language] = result
        for name in ("tagger", "product"):
            if name in result:
                print(_summary(language, args.split, name, result[name]))
        if "product_losses" in result:
            print(f"{language} {args.split} losses: {result['product_losses']}")
            print(f"{language} {args.split} gains:  {result['product_gains']}")
            print(f"{language} {args.split} added:  {result['product_added_false_positives']}")
            convention = result["product_without_kb_unannotated_in_train"]
            print(f"{language} {args.split} product without kb_unannotated_in_train: {convention}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
