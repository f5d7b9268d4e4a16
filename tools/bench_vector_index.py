"""What a kNN graph costs the search server, and what it finds: ``bench/vector_index.json``.

Indexes real article vectors — the static multilingual vectors (``shared.vectors``) of every
IL-NER sentence in ``../shared/datasets/il-ner`` (Hindi and Urdu, ~25 K) — into one
Elasticsearch (the local runtime, a free port) under several ``dense_vector`` index options,
force-merged as a long-running index ends up, and reports for each: the server's CPU
milliseconds per document (indexing plus merging), recall@10 of the gateway's kNN query
(``num_candidates`` 100) against exact search in numpy for 100 queries (an indexed vector
slightly perturbed), and the mean query time. The shipped option is
:data:`shared.elastic.VECTOR_INDEX_OPTIONS`.

    python tools/bench_vector_index.py [--out bench/vector_index.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from process_cpu import cpu_seconds  # noqa: E402

from services.enrich.ner.corpus import LANGUAGE_FILES, read_split  # noqa: E402
from services.localstack import LocalStack, StackPorts  # noqa: E402
from shared.elastic import VECTOR_INDEX_OPTIONS  # noqa: E402
from shared.vectors import shared_embedder  # noqa: E402

IL_NER = ROOT.parent / "shared" / "datasets" / "il-ner"
VARIANTS: dict[str, dict[str, Any]] = {
    "elasticsearch default (int8_hnsw, m 16, ef_construction 100)": {},
    "shipped": VECTOR_INDEX_OPTIONS,
    "int8_hnsw, m 12, ef_construction 32": {"type": "int8_hnsw", "m": 12, "ef_construction": 32},
    "int8_flat (no graph)": {"type": "int8_flat"},
}
QUERIES = 100
K = 10


def article_vectors() -> np.ndarray[Any, np.dtype[np.float32]]:
    """Unit vectors of every IL-NER sentence that has one."""
    embedder = shared_embedder()
    texts = [
        sentence.text
        for language in sorted(LANGUAGE_FILES)
        for split in ("train", "dev", "test")
        for sentence in read_split(IL_NER, language, split)
    ]
    return np.stack([v for v in map(embedder.embed, texts) if v is not None]).astype(np.float32)


def measure(
    client: httpx.Client,
    pid: int | None,
    name: str,
    options: dict[str, Any],
    vectors: Any,
    queries: Any,
) -> dict[str, Any]:
    """Index ``vectors`` under ``options``; CPU per document, recall@10 and query time."""
    field: dict[str, Any] = {"type": "dense_vector", "dims": vectors.shape[1]}
    field |= {"index": True, "similarity": "cosine"}
    if options:
        field["index_options"] = options
    index = f"vectors-{abs(hash(name))}"
    client.put(
        f"/{index}",
        json={
            "mappings": {"properties": {"vector": field}},
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
        },
    ).raise_for_status()
    before = cpu_seconds(pid) or 0.0
    for start in range(0, len(vectors), 500):
        lines = []
        for i in range(start, min(len(vectors), start + 500)):
            lines.append(json.dumps({"index": {"_index": index, "_id": str(i)}}))
            lines.append(json.dumps({"vector": np.round(vectors[i], 6).tolist()}))
        client.post(
            "/_bulk",
            content="\n".join(lines) + "\n",
            headers={"content-type": "application/x-ndjson"},
        ).raise_for_status()
    client.post(f"/{index}/_refresh").raise_for_status()
    client.post(f"/{index}/_forcemerge?max_num_segments=1", timeout=900).raise_for_status()
    spent = (cpu_seconds(pid) or 0.0) - before
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :K]
    found = 0
    started = time.perf_counter()
    for query, best in zip(queries, exact, strict=True):
        knn = {"field": "vector", "query_vector": query.tolist(), "k": K, "num_candidates": 100}
        answer = client.post(f"/{index}/_search", json={"knn": knn, "size": K, "_source": False})
        hits = {int(hit["_id"]) for hit in answer.json()["hits"]["hits"]}
        found += len(hits & set(best.tolist()))
    client.delete(f"/{index}")
    return {
        "variant": name,
        "index_options": options or "default",
        "cpu_ms_per_document": round(spent * 1000 / len(vectors), 2),
        f"recall_at_{K}": round(found / (K * len(queries)), 3),
        "query_ms_mean": round((time.perf_counter() - started) * 1000 / len(queries), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "vector_index.json")
    args = parser.parse_args(argv)
    if not IL_NER.is_dir():
        print(f"needs {IL_NER} (the shared datasets)", file=sys.stderr)
        return 2
    vectors = article_vectors()
    rng = np.random.default_rng(1)
    queries = vectors[rng.choice(len(vectors), QUERIES, replace=False)]
    queries = queries + rng.normal(scale=0.02, size=queries.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    results = []
    with tempfile.TemporaryDirectory() as directory:
        stack = LocalStack(Path(directory), StackPorts.free())
        child = stack.search_child()
        stack.start_children([child], 180)
        pid = child.process.pid if child.process else None
        try:
            with httpx.Client(base_url=stack.elasticsearch_url, timeout=300) as client:
                for name, options in VARIANTS.items():
                    results.append(measure(client, pid, name, options, vectors, queries))
                    print(json.dumps(results[-1]), flush=True)
        finally:
            stack.stop()
    report = {"documents": len(vectors), "queries": QUERIES, "variants": results}
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
