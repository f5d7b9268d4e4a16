"""Benchmark the gateway's own overhead: API latency minus the search server's ``took``.

The local Elasticsearch stand-in scans on full-text queries, so absolute search latency here
says nothing about production. What is ours is everything around the search: parsing and
validation, query understanding through the knowledge base, building the request, the pooled
connection to the search server, reading the answer and serialising the response. This script

1. starts a private stack (broker, search server, the API only, rate limiting off),
2. indexes a synthetic corpus (enriched in-process, bulk-written: no pipeline needed),
3. runs each request mix with ``--concurrency`` clients on one pooled httpx client for
   ``--seconds``, recording per request the wall latency and the ``took_ms`` the API reports,
4. runs the *same* search bodies directly against the search server at the same concurrency
   (the floor the gateway adds to), and
5. writes p50/p90/p99 of latency, ``took`` and overhead (latency − took) to ``bench/api.json``.

The local stand-in handles concurrent searches one after another and starts its ``took``
clock only when it gets to a request, so under 50 clients its queueing lands in "latency −
took". ``--backend replay`` therefore puts a replaying proxy between the API and the search
server: it records each distinct search answer once, then answers from memory in microseconds,
so what remains is the gateway (its overhead is then API latency − direct replay latency).

Caveat recorded in the output: client, gateway and search server share this machine's cores,
so at 50 concurrent clients the overhead includes time the gateway waits for a CPU.

    .venv/bin/python tools/bench_api.py --docs 500 --seconds 20 --concurrency 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.api.resolve import resolve_query
from services.api.search import SearchParams, build_search
from services.enrich.kb import KnowledgeBase
from services.enrich.pipeline import Enricher
from services.localstack import Child, LocalStack, StackPorts, free_port, http_ready
from shared.elastic import article_document, ensure_index, make_client
from shared.ids import article_id
from shared.models import RawArticle
from shared.settings import ApiSettings

ALIAS = "khabar-articles"

#: name → (API query parameters, the SearchParams the API builds for them)
MIXES: dict[str, dict[str, Any]] = {
    "entity_filter": {"entity": "geo:PK", "facets": "false"},
    "language_page": {"lang": "ur", "size": 20, "facets": "false", "sort": "date"},
    "facets_only": {"size": 1},
    "cross_script_text": {"q": "پاکستان روس", "facets": "false"},
}

URDU = [
    "پاکستان اور روس کے درمیان مذاکرات",
    "کراچی میں بارش سے نظام زندگی متاثر",
    "لاہور میں کرکٹ میچ",
    "اسلام آباد میں اجلاس",
]
HINDI = [
    "भारत और नेपाल के बीच नई रेल सेवा",
    "पाकिस्तान और रूस के बीच वार्ता",
    "दिल्ली में बारिश",
    "मुंबई में क्रिकेट मैच",
]
ENGLISH = [
    "Japan and Pakistan agree on fisheries",
    "Floods close schools in Sindh",
    "Russia and India sign energy deal",
    "Cricket series announced in Lahore",
]


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "mean": round(statistics.fmean(values), 2),
        "max": round(ordered[-1], 2),
    }


async def seed(url: str, docs: int) -> None:
    """Index a synthetic corpus of enriched articles in three languages."""
    enricher = Enricher()
    rng = random.Random(7)
    settings = ApiSettings(elasticsearch_url=url)
    es = make_client(settings)
    try:
        await ensure_index(es, ALIAS)
        operations: list[dict[str, Any]] = []
        start = datetime(2025, 1, 1, tzinfo=UTC)
        for number in range(docs):
            titles = rng.choice([URDU, HINDI, ENGLISH])
            title = f"{rng.choice(titles)} {number}"
            body = " ".join(rng.choice(titles) for _ in range(8))
            raw = RawArticle(
                id=article_id(url=None, title=title, body=body),
                title=title,
                body=body,
                source=rng.choice(["alpha", "beta", "gamma"]),
                published_at=start + timedelta(hours=number * 7),
            )
            article = enricher.enrich(raw)
            operations.append({"index": {"_index": ALIAS, "_id": article.id}})
            operations.append(article_document(article))
        await es.bulk(operations=operations, refresh=True)
    finally:
        await es.close()


async def _load(
    call: Any, concurrency: int, seconds: float
) -> tuple[list[float], list[float], int]:
    """Run ``call`` from ``concurrency`` workers; latencies (ms), tooks (ms), errors."""
    latencies: list[float] = []
    tooks: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            took = await call()
            elapsed = (time.perf_counter() - started) * 1000
            if took is None:
                errors += 1
                continue
            latencies.append(elapsed)
            tooks.append(float(took))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, tooks, errors


async def measure(
    api_url: str, es_url: str, concurrency: int, seconds: float, kb: KnowledgeBase
) -> dict[str, Any]:
    """Every mix through the API, then the same search bodies directly against the server."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    results: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=60, limits=limits) as api,
        httpx.AsyncClient(base_url=es_url, timeout=60, limits=limits) as es,
    ):
        for name, params in MIXES.items():

            async def via_api(params: dict[str, Any] = params) -> int | None:
                response = await api.get("/search", params=params)
                took: int | None = response.json().get("took_ms") if response.is_success else None
                return took

            await _load(via_api, min(concurrency, 4), 1.0)  # warm-up (KB, pools, caches)
            latencies, tooks, errors = await _load(via_api, concurrency, seconds)
            overhead = [lat - took for lat, took in zip(latencies, tooks, strict=True)]

            body = _direct_body(params, kb)

            async def direct(body: dict[str, Any] = body) -> int | None:
                response = await es.post(f"/{ALIAS}/_search", json=body)
                took: int | None = response.json().get("took") if response.is_success else None
                return took

            await _load(direct, min(concurrency, 4), 1.0)
            direct_latencies, _, direct_errors = await _load(direct, concurrency, seconds)
            results[name] = {
                "params": params,
                "requests": len(latencies),
                "errors": errors,
                "throughput_rps": round(len(latencies) / seconds, 1),
                "api_latency_ms": _percentiles(latencies),
                "search_took_ms": _percentiles(tooks),
                "gateway_overhead_ms": _percentiles(overhead),
                "direct_search_latency_ms": _percentiles(direct_latencies),
                "direct_errors": direct_errors,
            }
            print(
                f"{name:18s} n={len(latencies):5d} api p50={results[name]['api_latency_ms']['p50']}"
                f" p99={results[name]['api_latency_ms']['p99']} overhead"
                f" p50={results[name]['gateway_overhead_ms']['p50']}"
                f" p99={results[name]['gateway_overhead_ms']['p99']} direct"
                f" p99={results[name]['direct_search_latency_ms'].get('p99')}"
            )
    return results


def _direct_body(params: dict[str, Any], kb: KnowledgeBase) -> dict[str, Any]:
    """The search body the API sends for these parameters (as JSON for a raw POST)."""
    q = params.get("q")
    request = build_search(
        SearchParams(
            q=q,
            resolved=resolve_query(q, kb) if q else None,
            entities=(params["entity"],) if "entity" in params else (),
            languages=(params["lang"],) if "lang" in params else (),
            size=int(params.get("size", 10)),
            sort=params.get("sort", "relevance"),
            facets=params.get("facets", "true") == "true",
        )
    )
    request["_source"] = request.pop("source_includes")
    return request


def replay_app(upstream: str) -> Any:
    """An ASGI app answering each distinct request from memory after proxying it once."""
    recorded: dict[tuple[str, str, bytes, bytes], tuple[int, list[Any], bytes]] = {}
    locks: dict[tuple[str, str, bytes, bytes], asyncio.Lock] = {}
    client = httpx.AsyncClient(base_url=upstream, timeout=120)
    kept = {b"content-type", b"x-elastic-product"}

    async def fetch(scope: dict[str, Any], body: bytes) -> tuple[int, list[Any], bytes]:
        query = scope["query_string"].decode()
        response = await client.request(
            scope["method"],
            scope["path"] + (f"?{query}" if query else ""),
            content=body,
            headers={"content-type": "application/json"},
        )
        headers = [
            (k.lower().encode(), v.encode())
            for k, v in response.headers.items()
            if k.lower().encode() in kept
        ]
        return response.status_code, headers, response.content

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        key = (scope["method"], scope["path"], scope["query_string"], body)
        answer = recorded.get(key)
        if answer is None:
            async with locks.setdefault(key, asyncio.Lock()):  # one recording per request
                answer = recorded.get(key) or await fetch(scope, body)
                if scope["path"].endswith("/_search"):
                    recorded[key] = answer
        status, headers, content = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def serve_replay(port: int, upstream: str) -> None:
    """Run the replaying proxy (a child process of the benchmark)."""
    import uvicorn

    uvicorn.run(replay_app(upstream), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    """Run the benchmark and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--concurrency", default="1,50", help="comma-separated client counts, one run each"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/api.json"))
    parser.add_argument(
        "--backend",
        choices=["replay", "direct"],
        default="replay",
        help="replay: the API talks to a recording proxy that answers from memory (isolates "
        "the gateway); direct: the API talks to the local search server itself.",
    )
    parser.add_argument("--serve-replay", nargs=2, metavar=("PORT", "UPSTREAM"))
    args = parser.parse_args()
    if args.serve_replay:
        serve_replay(int(args.serve_replay[0]), args.serve_replay[1])
        return

    directory = Path(tempfile.mkdtemp(prefix="khabar-bench-api-"))
    ports = StackPorts.free()
    replay_port = free_port()
    replay_url = f"http://127.0.0.1:{replay_port}"
    env = {"KHABAR_API_RATE_LIMIT_PER_SECOND": "0", "KHABAR_LOG_LEVEL": "WARNING"}
    if args.backend == "replay":
        env["KHABAR_ELASTICSEARCH_URL"] = replay_url
    stack = LocalStack(directory, ports, extra_env=env)
    try:
        stack.start_infrastructure()
        if args.backend == "replay":
            stack.start_child(
                Child(
                    "replay",
                    [
                        sys.executable,
                        __file__,
                        "--serve-replay",
                        str(replay_port),
                        stack.elasticsearch_url,
                    ],
                    {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
                    directory / "logs" / "replay.log",
                    http_ready(replay_url),
                )
            )
        asyncio.run(seed(stack.elasticsearch_url, args.docs))
        stack.start_services(("api",))
        kb = KnowledgeBase.load()
        search_url = replay_url if args.backend == "replay" else stack.elasticsearch_url
        results = {
            f"concurrency_{n}": asyncio.run(measure(stack.api_url, search_url, n, args.seconds, kb))
            for n in (int(c) for c in args.concurrency.split(","))
        }
    finally:
        stack.stop()
        stack.clean()
    report = {
        "what": "gateway overhead = API wall latency - search server took, per request",
        "backend": args.backend,
        "docs": args.docs,
        "concurrency": args.concurrency,
        "seconds_per_mix": args.seconds,
        "cpu_count": os.cpu_count(),
        "note": "client, gateway and search server share the machine's cores; the overhead "
        "includes waiting for a CPU under load. took is whole milliseconds.",
        "measured_at": datetime.now(UTC).isoformat(),
        "runs": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
