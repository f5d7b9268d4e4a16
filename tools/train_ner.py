"""Train the Hindi and Urdu CRF named-entity models shipped in services/enrich/ner/models/.

Usage: python tools/train_ner.py --data ../shared/datasets/il-ner [--lang hi|ur|all]
       [--splits train|train+dev]

Settings are chosen on dev with ``--splits train`` (then ``tools/eval_ner.py --split dev
--models DIR``); the shipped models are then retrained on train + dev (the default), and the
test split is only ever read by ``tools/eval_ner.py`` to report.

Deterministic: the corpus is read in file order, L-BFGS has no random state, the frequency
table is written sorted with a fixed gzip timestamp, and the transliteration is a pure
function.  One core.  (One caveat: the SVD behind the Urdu word clusters can differ in its last
bits between CPUs and BLAS builds, which moved 25 of ~24,000 words to another cluster between
two of our machines.)

The Urdu model is trained on Urdu train plus Hindi train transliterated into Urdu script with
aksharamukha (Hindi and Urdu share most names; this more than doubles the Urdu entities).
Word-frequency buckets are counted on the training text only and shipped as a
``{lang}.freq.json.gz`` table.  Further tables shipped beside each model (see ``FeatureExtractor``):

* ``{lang}.gaz.json.gz``: knowledge-base aliases (shared/data/kb.json.gz; Urdu also gets
  the Hindi aliases transliterated) as normalised n-grams -> ``TYPE:kind``;
* ``{lang}.lists.json.gz``: name and cue-word lists harvested from the training labels
  (jackknifed while training, see ``train``);
* ``{lang}.clusters.json.gz``: hierarchical distributional word clusters computed from
  *unlabelled* text: the tokens of the IL-NER splits (labels unused; ``--cluster-text train``
  restricts this to the training split) plus the Hindi/Urdu NTREX documents.  This needs numpy
  at training time only; the tagger just reads the word -> cluster map.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pycrfsuite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.enrich.ner.corpus import GoldSentence, read_split, to_bio  # noqa: E402
from services.enrich.ner.features import (  # noqa: E402
    FeatureExtractor,
    frequency_buckets,
    normalize_word,
)
from services.enrich.ner.names_lm import NameEvidence  # noqa: E402
from services.enrich.ner.tokenize import tokenize  # noqa: E402

MODEL_DIR = Path(__file__).resolve().parent.parent / "services" / "enrich" / "ner" / "models"
_ARABIC_MARKS_RE = re.compile("[\u064b-\u065f\u0670]")

# Name lists are on for Hindi and off for Urdu, as chosen on the dev splits.
DEFAULT_LISTS = {"hi": True, "ur": False}
#: Word clusters from the training text only; for Hindi they did not help on dev (0.689 vs 0.695).
DEFAULT_CLUSTERS = {"hi": "none", "ur": "train"}
#: Cross-script key features (``FeatureExtractor(cross_script=True)``): on for Urdu, whose
#: training data is half Hindi transliterated by aksharamukha, spelt unlike native Urdu but with
#: the same consonant skeleton. Urdu F1 without -> with: dev (train-only models) 0.734 -> 0.758;
#: 3-fold cross-validation over Urdu train (each third held out, the rest + dev trained on; 2,333
#: entities in all) 0.712 -> 0.725, 0.692 -> 0.696, 0.690 -> 0.694 (mean 0.698 -> 0.705), PER
#: gaining most. Hindi dev 0.695 -> 0.689, and Hindi trained on Hindi + raw Urdu with them
#: 0.695: no gain, so Hindi keeps neither.
DEFAULT_CROSS_SCRIPT = {"hi": False, "ur": True}
#: Character name evidence (``services/enrich/ner/names_lm.py``, the ``nm=`` features): on for
#: Hindi. Hindi F1 without -> with: dev (train-only models) 0.690 -> 0.704, PER 0.590 -> 0.636;
#: 3-fold cross-validation over Hindi train (each third held out, the rest + dev trained on)
#: 0.7825 -> 0.7856, 0.7669 -> 0.7681, 0.7576 -> 0.7583, PER 0.785 -> 0.792, 0.753 -> 0.763,
#: 0.752 -> 0.759 (every fold up, PER most). Urdu dev 0.747 -> 0.744 (its cross-script skeleton
#: features already read the letters), so Urdu keeps it off.
DEFAULT_NAMES = {"hi": True, "ur": False}
#: Dev grid of 2026-12-02 (train-only models, dev F1 hi / ur): c2 0.05 -> 0.695 / 0.742 (kept),
#: c2 0.2 -> 0.705 / 0.748; hi also c2 0.01 0.695, 0.5 0.699, 1.0 0.699, c1 0.05 0.688, 0.1 0.693.
#: c2 0.2's gain is under the dev sets' noise (678 / 250 entities) and its models are 40 % larger.
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


def training_sentences(
    data: Path, language: str, augment: bool, splits: tuple[str, ...] = ("train",)
) -> list[GoldSentence]:
    """The gold sentences a language's model trains on (Urdu: plus the same Hindi splits)."""
    sents = [s for split in splits for s in read_split(data, language, split)]
    if language == "ur" and augment:
        cache: dict[str, str] = {}
        for split in splits:
            sents += read_split(data, "hi", split, lambda toks: transliterate_tokens(toks, cache))
    return sents


def write_table(path: Path, table: Mapping[str, Any]) -> None:
    """Write a table (``word -> value``, or the name evidence's counts) as deterministic gzipped
    JSON (or remove it if empty)."""
    if not table:
        if path.exists():
            path.unlink()
        return
    payload = json.dumps(table, ensure_ascii=False, sort_keys=True).encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(payload)


def _key(alias: str) -> str:
    return " ".join(normalize_word(alias[s:e]) for s, e in tokenize(alias))


def _entity_counts(
    bio: list[tuple[list[str], list[str]]],
) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Total count of each normalised word, and of (word, role) for PER/LOC/ORG/ORG-end roles."""
    total: Counter[str] = Counter()
    roles: Counter[tuple[str, str]] = Counter()
    for words, labels in bio:
        for i, (word, label) in enumerate(zip(words, labels, strict=True)):
            n = normalize_word(word)
            total[n] += 1
            if label == "O":
                continue
            kind = label[2:]
            roles[(n, kind)] += 1
            if kind in ("ORG", "LOC") and (i + 1 == len(labels) or labels[i + 1] != "I-" + kind):
                if label.startswith("I-"):  # last word of a multi-word name: a cue word
                    roles[(n, kind.lower() + "end")] += 1
    return total, roles


def word_lists(bio: list[tuple[list[str], list[str]]]) -> dict[str, str]:
    """Name lists harvested from labelled training sentences: ``word -> 'per|orgend'``.

    ``per``/``loc``/``org``: a word labelled that type at least twice and in at least half of its
    occurrences (first names, surnames, place and organisation words); ``orgend``/``locend``: a
    word that ends multi-word ORG/LOC names in at least a third of its occurrences (पार्टी,
    मंत्रालय, بینک, یونیورسٹی).
    """
    total, roles = _entity_counts(bio)
    table: dict[str, list[str]] = {}
    for (word, role), count in sorted(roles.items()):
        ratio = count / total[word]
        ok = ratio >= 0.3 if role.endswith("end") else ratio >= 0.5
        if count >= 2 and ok:
            table.setdefault(word, []).append(role.lower())
    return {w: "|".join(sorted(v)) for w, v in table.items()}


def name_evidence(bio: list[tuple[list[str], list[str]]]) -> NameEvidence:
    """Character models of the words inside persons' names and of the words outside any name."""
    pairs = [
        (normalize_word(word), label)
        for words, labels in bio
        for word, label in zip(words, labels, strict=True)
    ]
    names = [word for word, label in pairs if label[2:] == "PER"]
    others = [word for word, label in pairs if label == "O"]
    return NameEvidence.train(names, others)


def gazetteer(
    language: str, bio: list[tuple[list[str], list[str]]], translit: dict[str, str]
) -> dict[str, str]:
    """Knowledge-base aliases of this language's script as normalised n-grams -> ``TYPE:kind``.

    Urdu also gets the Hindi aliases transliterated.  Single-word aliases that the training data
    mostly uses as ordinary words (seen 5+ times, under 20% inside a name) are dropped.
    """
    from shared.kb import KnowledgeBase

    kinds = {"country": "ctry", "city": "city", "region": "reg", "border": "reg"}
    total, roles = _entity_counts(bio)
    table: dict[str, str] = {}
    for entry in KnowledgeBase.load():
        kind = kinds.get(entry.kind, "x") if entry.type == "LOC" else entry.type.lower()
        value = f"{entry.type}:{kind}"
        aliases = list(entry.aliases.get(language, ()))
        if language == "ur":
            hindi = list(entry.aliases.get("hi", ()))
            if hindi:
                aliases += [" ".join(transliterate_tokens(h.split(), translit)) for h in hindi]
        for alias in aliases:
            key = _key(alias)
            if not key or key in table:
                continue
            if " " not in key and total[key] >= 5:
                named = sum(roles[(key, t)] for t in ("PER", "LOC", "ORG"))
                if named < 0.2 * total[key]:
                    continue
            table[key] = value
    return table


def word_clusters(
    corpus: list[list[str]],
    context: int = 250,
    dims: int = 80,
    branching: tuple[int, ...] = (16, 16, 8),
    seed: int = 0,
) -> dict[str, str]:
    """Hierarchical distributional clusters of every word in ``corpus`` (needs numpy).

    Each normalised word gets a vector of positive PMI with the ``context`` commonest words at
    offsets -2, -1, +1, +2, reduced by SVD to ``dims`` dimensions and unit length, then split by
    spherical k-means level by level; the path (one character per level) is the cluster id.
    """
    import numpy as np

    sents = [[normalize_word(w) for w in s] for s in corpus]
    counts = Counter(w for s in sents for w in s)
    vocab = sorted(counts, key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(vocab)}
    n_ctx = context + 1  # the last slot: sentence boundary or a rarer word
    rows: list[int] = []
    cols: list[int] = []
    for s in sents:
        ids = [index[w] for w in s]
        size = len(ids)
        for i, wid in enumerate(ids):
            for block, off in enumerate((-2, -1, 1, 2)):
                j = i + off
                c = ids[j] if 0 <= j < size and ids[j] < context else context
                rows.append(wid)
                cols.append(block * n_ctx + c)
    width = 4 * n_ctx
    flat = np.asarray(rows, dtype=np.int64) * width + np.asarray(cols, dtype=np.int64)
    m = np.bincount(flat, minlength=len(vocab) * width).reshape(len(vocab), width)
    m = m.astype(np.float64)
    col = m.sum(axis=0) ** 0.75
    pmi = np.log(np.maximum(m, 1e-12) * col.sum() / (m.sum(axis=1, keepdims=True) * col + 1e-12))
    ppmi = np.where(m > 0, np.maximum(pmi, 0.0), 0.0).astype(np.float32)
    u, sv, _ = np.linalg.svd(ppmi, full_matrices=False)
    vectors = u[:, :dims] * np.sqrt(sv[:dims])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
    rng = np.random.default_rng(seed)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    paths = [""] * len(vocab)

    def split(members: np.ndarray, level: int) -> None:
        if level >= len(branching):
            return
        k = branching[level]
        if len(members) < 2 * k:
            for m_id in members:
                paths[m_id] += "0"
            split(members, level + 1)
            return
        x = vectors[members]
        centres = x[rng.choice(len(members), size=k, replace=False)]
        for _ in range(20):
            assign = np.argmax(x @ centres.T, axis=1)
            for c in range(k):
                chosen = x[assign == c]
                if len(chosen):
                    centre = chosen.sum(axis=0)
                    centres[c] = centre / (np.linalg.norm(centre) + 1e-9)
        assign = np.argmax(x @ centres.T, axis=1)
        for c in range(k):
            sub = members[assign == c]
            for m_id in sub:
                paths[m_id] += alphabet[c]
            if len(sub):
                split(sub, level + 1)

    split(np.arange(len(vocab)), 0)
    return {w: paths[i] for i, w in enumerate(vocab)}


def cluster_corpus(data: Path, language: str, splits: tuple[str, ...]) -> list[list[str]]:
    """Unlabelled text for the clusters: IL-NER tokens of ``splits`` (labels unused).

    Urdu also gets the Hindi text transliterated into Urdu script. Only the training split by
    default: dev and test text would leak into the evaluation, and NTREX (CC BY-SA, also our
    benchmark corpus) is not mixed into a shipped artefact.
    """
    corpus = [to_bio(s)[0] for split in splits for s in read_split(data, language, split)]
    if language == "ur":
        cache: dict[str, str] = {}
        for split in splits:
            hindi = read_split(data, "hi", split, lambda t: transliterate_tokens(t, cache))
            corpus += [to_bio(s)[0] for s in hindi]
    return corpus


def train(
    data: Path,
    language: str,
    out_dir: Path,
    params: dict[str, float],
    augment: bool = True,
    frequencies: bool = True,
    use_gazetteer: bool = True,
    use_lists: bool = True,
    cluster_splits: tuple[str, ...] = ("train", "dev", "test"),
    folds: int = 5,
    splits: tuple[str, ...] = ("train",),
    cross_script: bool = False,
    use_names: bool = False,
) -> None:
    """Train one language's model and write it (plus its lookup tables) into ``out_dir``.

    The name lists are jackknifed: the training sentences of fold ``k`` see lists harvested from
    the other folds only, so the model learns how far a list hit generalises to unseen sentences
    instead of trusting a feature that is perfect on its own training data; the shipped lists
    come from all training sentences. The name evidence (``use_names``) is jackknifed the same
    way.
    """
    started = time.monotonic()
    sents = training_sentences(data, language, augment, splits)
    bio = [to_bio(s) for s in sents]
    freq_table = frequency_buckets(words for words, _ in bio) if frequencies else {}
    translit: dict[str, str] = {}
    gaz_table = gazetteer(language, bio, translit) if use_gazetteer else {}
    list_table = word_lists(bio) if use_lists else {}
    cluster_table: dict[str, str] = {}
    if cluster_splits:
        cluster_table = word_clusters(cluster_corpus(data, language, cluster_splits))
    print(
        f"{language}: tables: {len(gaz_table)} gazetteer, {len(list_table)} list,"
        f" {len(cluster_table)} cluster words, {time.monotonic() - started:.0f}s",
        flush=True,
    )
    extractors = [
        FeatureExtractor(
            frequencies=freq_table,
            clusters=cluster_table,
            gazetteer=gaz_table,
            cross_script=cross_script,
            word_lists=(
                word_lists([b for j, b in enumerate(bio) if j % folds != k]) if use_lists else {}
            ),
            name_evidence=(
                name_evidence([b for j, b in enumerate(bio) if j % folds != k])
                if use_names
                else None
            ),
        )
        for k in range(folds)
    ]
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params(
        {
            "c1": params["c1"],
            "c2": params["c2"],
            "max_iterations": int(params["max_iterations"]),
            "feature.possible_transitions": True,
        }
    )
    for j, (words, labels) in enumerate(bio):
        trainer.append(extractors[j % folds].sentence_features(words), labels)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{language}.crfsuite"
    trainer.train(str(model_path))
    write_table(out_dir / f"{language}.freq.json.gz", freq_table)
    write_table(out_dir / f"{language}.gaz.json.gz", gaz_table)
    write_table(out_dir / f"{language}.lists.json.gz", list_table)
    write_table(out_dir / f"{language}.clusters.json.gz", cluster_table)
    write_table(
        out_dir / f"{language}.names.json.gz", name_evidence(bio).to_json() if use_names else {}
    )
    # what the model learnt from, for tools/eval_ner.py (which must not score a trained split)
    (out_dir / f"{language}.training.json").write_text(
        json.dumps(
            {
                "splits": list(splits),
                "params": params,
                "cross_script": cross_script,
                "name_evidence": use_names,
            },
            sort_keys=True,
        )
        + "\n"
    )
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
    parser.add_argument(
        "--cross-script",
        choices=["default", "on", "off"],
        default="default",
        help="cross-script skeleton-key features (default: per language, DEFAULT_CROSS_SCRIPT)",
    )
    parser.add_argument(
        "--names",
        choices=["default", "on", "off"],
        default="default",
        help="character name evidence (default: per language, DEFAULT_NAMES)",
    )
    parser.add_argument("--no-frequencies", action="store_true", help="drop frequency features")
    parser.add_argument("--no-gazetteer", action="store_true", help="drop KB gazetteer features")
    parser.add_argument(
        "--lists",
        choices=["default", "on", "off"],
        default="default",
        help="harvested name lists (default: per language, see DEFAULT_LISTS)",
    )
    parser.add_argument(
        "--cluster-text",
        choices=["default", "all", "train", "none"],
        default="default",
        help="unlabelled IL-NER text for word clusters (default: per language, see "
        "DEFAULT_CLUSTERS): all splits (transductive, leaks into evaluation), train (the "
        "splits trained on), none",
    )
    parser.add_argument(
        "--splits",
        choices=["train", "train+dev"],
        default="train+dev",
        help="labelled splits to train on: train (to compare settings on dev) or train+dev (the"
        " shipped model, once the settings are chosen; the test split is never trained on)",
    )
    args = parser.parse_args()
    splits = tuple(args.splits.split("+"))
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
            use_gazetteer=not args.no_gazetteer,
            use_lists=DEFAULT_LISTS[language] if args.lists == "default" else args.lists == "on",
            cluster_splits={
                "all": ("train", "dev", "test"),
                "train": splits,
                "none": (),
            }[DEFAULT_CLUSTERS[language] if args.cluster_text == "default" else args.cluster_text],
            splits=splits,
            cross_script=(
                DEFAULT_CROSS_SCRIPT[language]
                if args.cross_script == "default"
                else args.cross_script == "on"
            ),
            use_names=DEFAULT_NAMES[language] if args.names == "default" else args.names == "on",
        )


if __name__ == "__main__":
    main()
