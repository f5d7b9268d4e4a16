"""``make bench``: throughput, freshness, query latency and scaling, measured in one run.

Sections (``--sections``, default all):

- ``enrich``: :meth:`Enricher.enrich` in this process (one core) over ~4 KB Urdu, Hindi and
  English news (``tools/bench_corpus.py``): articles/s and mean milliseconds per component.
- ``api``: 2,000 articles through the chain, then 50 concurrent clients on ``GET /search``;
  latency beside the search server's own ``took`` so the gateway's overhead stands alone.
- ``freshness``: articles offered at a fixed 100/s; ingest→indexed latency from each document's
  ``ingested_at`` and ``indexed_at``.
- ``e2e``: raw articles published at the highest rate the chain absorbs (a bounded backlog) for
  ``--duration`` seconds, indexed documents counted with ``_count``; then the same through the
  pass-through chain (``tools/bench_passthrough.py``: same hops, no enrichment, no search
  writes) for the transport ceiling, and their ratio.
- ``scaling``: the end-to-end measurement again with a second enrich worker.

Everything runs on the local stack (Apache Kafka, Elasticsearch and the four services as
processes, ``services/localstack.py``) on free ports in a temporary directory. The ``api``
section measures ``/search`` at 2,000 and again at 20,000 indexed articles; every chain section
reports CPU milliseconds per article for each process (broker, search server, each service).
``--quick`` shrinks every size so the test suite can check the tool works and writes
well-formed results in seconds. Results: ``bench/results.json`` and
``bench/results.md``; ``--profile`` adds a pyinstrument profile of the enrichment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import numpy
import psutil
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_corpus import Sample, load_samples, raw_articles  # noqa: E402
from process_cpu import cpu_seconds  # noqa: E402

from services.localstack import Child, LocalStack, StackPorts, free_port, http_ready  # noqa: E402
from shared.ids import article_id  # noqa: E402
from shared.kafka import encode_event, ensure_topics, make_producer  # noqa: E402
from shared.models import EnrichedArticle, RawArticle  # noqa: E402
from shared.process import settle_heap  # noqa: E402
from shared.settings import KhabarSettings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENRICH_ROUNDS = 5
#: How much longer than asked a chain's warm-up may wait for its first article out.
WARMUP_LIMIT = 180.0
SECTIONS = ("enrich", "gateway", "api", "freshness", "e2e", "scaling")
TARGETS = {
    "enrich_articles_per_second_per_core": 500,
    "e2e_articles_per_second": 1000,
    "e2e_fraction_of_passthrough": 0.5,
    "freshness_p99_seconds": 1.5,
    "api_gateway_overhead_p99_ms": 5.0,
    "scaling_two_workers_speedup": 1.7,
}
PLACEHOLDER_ID = "f" * 32
QUICK_NOTE = " (quick mode: tiny sizes, checks the tool, measures nothing)"
console = Console(stderr=True)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks; NaN of nothing."""
    return float(numpy.percentile(values, q)) if values else float("nan")


def finite(value: Any) -> Any:
    """NaN (a percentile of nothing) becomes null: the results must stay valid JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def machine() -> dict[str, Any]:
    """What the numbers were measured on (and how busy it was)."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = round(psutil.virtual_memory().total / 1024**3, 1)
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --------------------------------------------------------------------------- 1. enrichment


class _Summary(NamedTuple):
    """What the enrichment section reads of one result."""

    language: str
    timings_ms: dict[str, float]


def _summary(result: EnrichedArticle) -> _Summary:
    return _Summary(result.language, result.timings_ms)


def bench_kb(articles: list[RawArticle]) -> dict[str, Any]:
    """The knowledge base alone: loading the bundled file, and the gazetteer matcher per body."""
    import gzip

    from shared.kb import DEFAULT_KB_PATH, KnowledgeBase

    started = time.process_time()
    kb = KnowledgeBase.from_json(json.loads(gzip.decompress(DEFAULT_KB_PATH.read_bytes())))
    load_seconds = time.process_time() - started
    bodies = [article.body for article in articles]
    for body in bodies:  # the first pass fills the normalisation cache, as a running worker has it
        kb.find_mentions(body)
    rounds = []
    for _ in range(ENRICH_ROUNDS):
        started = time.process_time()
        for body in bodies:
            kb.find_mentions(body)
        rounds.append((time.process_time() - started) / len(bodies) * 1000)
    return {
        "file_bytes": DEFAULT_KB_PATH.stat().st_size,
        "entries": len(kb),
        "load_cpu_seconds": round(load_seconds, 3),
        "find_mentions_ms_per_article": round(statistics.median(rounds), 3),
    }


def bench_enrichment(samples: list[Sample], count: int, profile: Path | None) -> dict[str, Any]:
    """Enricher.enrich in this process: articles/s on one core and cost per component."""
    from services.enrich.pipeline import Enricher

    started = time.perf_counter()
    enricher = Enricher()
    load_seconds = time.perf_counter() - started
    articles = list(raw_articles(samples, count, "enrich"))
    for article in articles[: min(6, count)]:  # warm caches the way a running worker has them
        enricher.enrich(article)
    profiler = None
    if profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
    # Several rounds: this machine's speed drifts by ±20% within minutes (shared host), so one
    # short pass says little. The first round meets every word for the first time (the
    # tagger's per-word tables fill), later ones run as a warm worker does; the median counts.
    # Like the worker (services.enrich.app): the heap is settled once the models are loaded, and
    # each result is dropped once read (the worker publishes it), so the collector never has
    # hundreds of finished articles to scan.
    settle_heap()
    rounds: list[tuple[float, float]] = []
    for _ in range(ENRICH_ROUNDS):
        cpu_before, wall_before = time.process_time(), time.perf_counter()
        results = [_summary(enricher.enrich(article)) for article in articles]
        rounds.append((time.process_time() - cpu_before, time.perf_counter() - wall_before))
    cpu = statistics.median(c for c, _ in rounds)
    wall = statistics.median(w for _, w in rounds)
    if profiler is not None and profile is not None:
        profiler.stop()
        profile.write_text(profiler.output_text(unicode=True, color=False))
    components = sorted({name for r in results for name in r.timings_ms})
    by_language: dict[str, Any] = {}
    for language in sorted({r.language for r in results}):
        chosen = [r for r in results if r.language == language]
        by_language[language] = {
            "articles": len(chosen),
            "mean_ms": round(statistics.fmean(sum(r.timings_ms.values()) for r in chosen), 3),
        }
    return {
        "articles": count,
        "article_bytes_mean": round(
            statistics.fmean(len(a.body.encode()) + len((a.title or "").encode()) for a in articles)
        ),
        "model_load_seconds": round(load_seconds, 2),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "articles_per_second_wall": round(count / wall, 1),
        "articles_per_second_per_core": round(count / cpu, 1) if cpu else None,
        "rounds_articles_per_second_per_core": [round(count / c, 1) for c, _ in rounds if c],
        "component_mean_ms": {
            name: round(statistics.fmean(r.timings_ms.get(name, 0.0) for r in results), 3)
            for name in components
        },
        "by_language": by_language,
        "knowledge_base": bench_kb(articles),
    }


# --------------------------------------------------------------------------- the stack


class Bench:
    """The running local stack plus the clients the measurements use."""

    def __init__(self, stack: LocalStack, samples: list[Sample]) -> None:
        self.stack = stack
        self.samples = samples
        self.settings = KhabarSettings(
            kafka_bootstrap=stack.kafka_bootstrap,
            elasticsearch_url=stack.elasticsearch_url,
            topic_prefix=stack.extra_env.get("KHABAR_TOPIC_PREFIX", ""),
        )
        self.templates = [
            encode_event(
                RawArticle(
                    id=PLACEHOLDER_ID,
                    url=f"https://bench.khabar.invalid/{PLACEHOLDER_ID}",
                    source="bench",
                    title=s.title,
                    body=s.body,
                )
            )
            for s in samples
        ]

    def message(self, run: str, n: int) -> tuple[bytes, bytes]:
        """A unique raw article (key, value) without building a model: the publisher must not
        be the bottleneck it measures."""
        new_id = article_id(url=f"https://bench.khabar.invalid/{run}/{n}", title=None, body="")
        template = self.templates[n % len(self.templates)]
        value = template.replace(PLACEHOLDER_ID.encode(), new_id.encode()).replace(
            b'"source":"bench"', f'"source":"bench-{run}"'.encode()
        )
        return new_id.encode(), value

    async def count(self, client: httpx.AsyncClient, run: str) -> int:
        """Indexed documents of one run (``_count`` on the alias); asked once per measurement,
        not in a polling loop, so the benchmark does not load the search server it measures."""
        response = await client.post(
            f"{self.stack.elasticsearch_url}/khabar-articles/_count",
            json={"query": {"term": {"source": f"bench-{run}"}}},
        )
        if response.status_code == 404:
            return 0
        response.raise_for_status()
        return int(response.json()["count"])

    async def written(self, client: httpx.AsyncClient) -> int:
        """Documents the index service has written since it started (its own metrics)."""
        return await metric_total(client, self.stack.ports.index, "index_documents_total{")


async def metric_total(client: httpx.AsyncClient, port: int, prefix: str) -> int:
    """Sum of a Prometheus counter's samples (lines starting with ``prefix``) on ``port``.

    Progress is read from the services' metrics, which cost the search server nothing; polling
    the search server itself would make the benchmark its main load."""
    text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines() if line.startswith(prefix)
    )


async def publish_all(bench: Bench, topic: str, run: str, count: int) -> None:
    """Publish ``count`` articles as fast as the producer goes."""
    producer = make_producer(bench.settings, linger_ms=20, max_batch_size=1024 * 1024)
    await producer.start()
    try:
        futures = []
        for n in range(count):
            key, value = bench.message(run, n)
            futures.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_for_count(
    bench: Bench,
    run: str,
    expected: int,
    baseline: int,
    timeout: float,
    progress: Callable[[int], None],
) -> int:
    """Wait until the index service has written ``expected`` documents more than ``baseline``,
    then until the search server finds them (its refresh), or time runs out: the run's count."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=120) as client:
        while time.monotonic() < deadline:
            written = await bench.written(client) - baseline
            progress(min(written, expected))
            if written >= expected:
                break
            await asyncio.sleep(0.5)
        while (count := await bench.count(client, run)) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        return count


async def written_now(bench: Bench) -> int:
    """The index service's written-documents counter right now."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await bench.written(client)


async def sustained_throughput(
    bench: Bench,
    topic: str,
    run: str,
    counter: Callable[[httpx.AsyncClient], Awaitable[int]],
    duration: float,
    warmup: float,
    backlog: int,
    progress: Callable[[float], None],
    pids: dict[str, int],
) -> dict[str, Any]:
    """Publish as fast as the chain absorbs (at most ``backlog`` unprocessed) and count output.

    The rate is output counted over ``duration`` seconds after ``warmup`` — and after the first
    article came out, so a worker still loading its models never makes an empty window, and
    until one more came out inside it (a short window on a loaded machine can fall between two
    bulk writes); both waits are bounded by ``WARMUP_LIMIT``. The CPU seconds each process used
    in that window say where the time went.
    """
    async with httpx.AsyncClient(timeout=30) as client:
        baseline = await counter(client)  # counters run from the process's start
    producer = make_producer(bench.settings, linger_ms=20, max_batch_size=1024 * 1024)
    await producer.start()
    published = 0
    done = 0
    stop = asyncio.Event()
    samples: list[tuple[float, int]] = []

    async def publish() -> None:
        nonlocal published
        while not stop.is_set():
            if published - done >= backlog:
                await asyncio.sleep(0.02)
                continue
            futures = []
            for _ in range(200):
                key, value = bench.message(run, published)
                futures.append(await producer.send(topic, value, key=key))
                published += 1
            await asyncio.gather(*futures)

    task = asyncio.create_task(publish())
    start = time.monotonic()
    window_start = start + warmup
    end = window_start + duration
    cpu_start: dict[str, float | None] = {}
    opened_at = 0  # output when the window opened

    def open_window(now: float) -> bool:
        stalled = cpu_start and done == opened_at and now - window_start < WARMUP_LIMIT
        return now < end or bool(stalled)

    try:
        async with httpx.AsyncClient(timeout=30) as client:
            while open_window(now := time.monotonic()):
                done = await counter(client) - baseline
                if now >= window_start and not cpu_start:
                    if done:
                        cpu_start = {name: cpu_seconds(pid) for name, pid in pids.items()}
                        opened_at = done
                        window_start, end = now, now + duration  # this sample is its first
                    elif now - start > warmup + WARMUP_LIMIT:
                        raise RuntimeError(f"nothing came out of the chain in {now - start:.0f} s")
                    else:  # nothing out yet: the warm-up goes on
                        window_start, end = now, now + duration
                samples.append((now, done))
                progress(min(1.0, (now - start) / (end - start)))
                await asyncio.sleep(0.5)
            done = await counter(client) - baseline
            samples.append((time.monotonic(), done))
    finally:
        stop.set()
        await task
        await producer.stop()
    cpu_end = {name: cpu_seconds(pid) for name, pid in pids.items()}
    inside = [(t, c) for t, c in samples if t >= window_start]
    first, last = inside[0], inside[-1]
    elapsed = last[0] - first[0]
    processed = last[1] - first[1]
    rate = processed / elapsed if elapsed > 0 else 0.0
    return {
        "window_seconds": round(elapsed, 1),
        "warmup_seconds": round(window_start - start, 1),
        "published": published,
        "processed_in_window": processed,
        "articles_per_second": round(rate, 1),
        "cpu_ms_per_article": cpu_per_article(cpu_start, cpu_end, processed),
    }


def cpu_per_article(
    start: dict[str, float | None], end: dict[str, float | None], articles: int
) -> dict[str, float | None]:
    """CPU milliseconds each process spent per article in a window, and their total."""
    if not articles:
        return dict.fromkeys([*end, "total"])
    spent = {
        name: ((end[name] or 0.0) - (start.get(name) or 0.0)) * 1000 / articles for name in end
    }
    spent["total"] = sum(spent.values())
    return {name: round(ms, 3) for name, ms in spent.items()}


def p50_p99(values: list[float]) -> dict[str, float]:
    """Median and 99th percentile, rounded."""
    return {"p50": round(percentile(values, 50), 2), "p99": round(percentile(values, 99), 2)}


async def closed_loop(
    call: Callable[[int], Awaitable[Any]],
    clients: int,
    duration: float,
    failures: tuple[type[BaseException], ...],
) -> tuple[list[tuple[float, Any]], int, float]:
    """``clients`` loops calling ``call(n)`` back to back for ``duration`` seconds.

    Returns (milliseconds, answer) per successful call, the failures and the wall time."""
    samples: list[tuple[float, Any]] = []
    errors = 0
    deadline = time.monotonic() + duration

    async def worker(offset: int) -> None:
        nonlocal errors
        n = offset
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                answer = await call(n)
            except failures:
                errors += 1
                continue
            finally:
                n += 1
            samples.append(((time.perf_counter() - started) * 1000, answer))

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    return samples, errors, time.monotonic() - started


async def search_load(
    base_url: str, queries: list[dict[str, str]], clients: int, duration: float
) -> dict[str, Any]:
    """``clients`` concurrent loops on ``GET /search`` for ``duration`` seconds."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=300, limits=limits) as client:
        samples, errors, wall = await closed_loop(
            lambda n: client.get("/search", params=queries[n % len(queries)]),
            clients,
            duration,
            (httpx.HTTPError,),
        )
    latencies: list[float] = []
    tooks: list[float] = []
    overheads: list[float] = []
    for elapsed_ms, response in samples:
        if response.status_code != 200:
            errors += 1
            continue
        latencies.append(elapsed_ms)
        took = response.json().get("took_ms")
        if took is not None:
            tooks.append(float(took))
            overheads.append(elapsed_ms - float(took))
    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_second": round(len(latencies) / wall, 1),
        "latency_ms": p50_p99(latencies),
        "search_server_took_ms": p50_p99(tooks),
        "gateway_overhead_ms": p50_p99(overheads),
    }


def gateway_requests(queries: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The search requests the gateway sends for these queries, built by its own code."""
    from services.api.resolve import resolve_query
    from services.api.search import SearchParams, build_search
    from shared.kb import KnowledgeBase

    kb = KnowledgeBase.load()
    return [
        build_search(
            SearchParams(
                q=query.get("q"),
                resolved=resolve_query(query["q"], kb) if "q" in query else None,
                languages=(query["lang"],) if "lang" in query else (),
            )
        )
        for query in queries
    ]


async def direct_search_load(
    es_url: str, requests: list[dict[str, Any]], clients: int, duration: float
) -> dict[str, Any]:
    """The same searches straight to the search server, same concurrency: its own latency
    measured from outside (for a server that reports no ``took``)."""
    from elasticsearch import ApiError, AsyncElasticsearch, TransportError

    es = AsyncElasticsearch(es_url, connections_per_node=clients, request_timeout=300)
    try:
        samples, errors, wall = await closed_loop(
            lambda n: es.search(index="khabar-articles", **requests[n % len(requests)]),
            clients,
            duration,
            (ApiError, TransportError),
        )
    finally:
        await es.close()
    return {
        "requests": len(samples),
        "errors": errors,
        "requests_per_second": round(len(samples) / wall, 1),
        "latency_ms": p50_p99([elapsed for elapsed, _ in samples]),
    }


def api_section(
    stack: LocalStack, queries: list[dict[str, str]], clients: int, seconds: float
) -> dict[str, Any]:
    """Gateway latency beside the search server's: ``took`` when it reports one, else the
    same requests sent straight to it at the same concurrency (difference of percentiles)."""
    through_api = asyncio.run(search_load(stack.api_url, queries, clients, seconds))
    if through_api["search_server_took_ms"]["p99"] > 0:
        return through_api
    direct = asyncio.run(
        direct_search_load(stack.elasticsearch_url, gateway_requests(queries), clients, seconds)
    )
    through_api["search_server_direct"] = direct
    through_api["gateway_overhead_ms"] = {
        q: round(through_api["latency_ms"][q] - direct["latency_ms"][q], 2) for q in ("p50", "p99")
    }
    through_api["gateway_overhead_method"] = (
        "search server reported no took: overhead = API latency percentile minus the "
        "same percentile of the same searches sent directly at the same concurrency; when the "
        "search server is saturated both are its queueing and the difference is noise"
    )
    # one client: no queue at the search server, so the difference is the gateway's own cost
    api_one = asyncio.run(search_load(stack.api_url, queries, 1, seconds / 2))
    direct_one = asyncio.run(
        direct_search_load(stack.elasticsearch_url, gateway_requests(queries), 1, seconds / 2)
    )
    through_api["one_client"] = {
        "api_latency_ms": api_one["latency_ms"],
        "direct_latency_ms": direct_one["latency_ms"],
        "gateway_overhead_ms": {
            q: round(api_one["latency_ms"][q] - direct_one["latency_ms"][q], 2)
            for q in ("p50", "p99")
        },
    }
    return through_api


def gateway_section(
    quick: bool, out_dir: Path, attach: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The gateway's own overhead, from ``tools/bench_api.py`` (its own stack and corpus; with
    ``attach``, the Kafka and Elasticsearch ports of the stack already running, and a corpus
    under an alias of its own: quick mode, which only checks the tool, so saves a stack start).

    The ``api`` section subtracts Elasticsearch's own ``took`` from each request's latency, but
    at 50 clients both share two cores with the search server, so its queueing shows up in
    the difference. ``bench_api.py`` puts a replaying proxy between the API and the search
    server (answers from memory, recorded ``took``), so what remains is the gateway, at 1 and
    50 closed-loop clients and at fixed open-loop rates over 50 connections. Its full report
    is written beside ``results.json`` as ``api.json``.
    """
    report_path = out_dir / "api.json"
    command = [
        sys.executable,
        str(ROOT / "tools" / "bench_api.py"),
        "--out",
        str(report_path),
        *(
            ("--docs", "30", "--seconds", "0.5", "--runs", "1", "--rates", "50")
            if quick
            else ("--docs", "2000", "--seconds", "4", "--runs", "2", "--rates", "100,200")
        ),
        *(("--attach", *map(str, attach)) if attach else ()),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)  # noqa: S603
    if done.returncode != 0:  # its own output says why; a bare exit status would not
        raise SystemExit(f"bench_api.py exited {done.returncode}:\n{done.stderr[-3000:]}")
    report = json.loads(report_path.read_text())
    summary: dict[str, Any] = report["summary"]

    def worst_p99(mode: str) -> float | None:
        """Over the request mixes, the worst of each mix's median p99 across runs."""
        mixes = summary.get(mode, {})
        # A mix whose every request failed has no percentile in a run (its errors are counted).
        values = [
            statistics.median(measured)
            for row in mixes.values()
            if (measured := [v for v in row["overhead_p99_ms"] if v is not None])
        ]
        return round(max(values), 2) if values else None

    return {
        "report": report_path.name,
        "backend": report["backend"],
        "docs": report["docs"],
        "runs": report["repetitions"],
        "overhead_p99_ms_worst_mix": {mode: worst_p99(mode) for mode in summary},
        "summary": summary,
    }


async def freshness(bench: Bench, rate: float, seconds: float, run: str) -> dict[str, Any]:
    """Offer ``rate`` articles/s for ``seconds``; ingest→indexed latency per document."""
    baseline = await written_now(bench)
    producer = make_producer(bench.settings, linger_ms=0)
    await producer.start()
    total = int(rate * seconds)
    articles = raw_articles(bench.samples, total, run)
    started = time.monotonic()
    try:
        for n, article in enumerate(articles):
            due = started + n / rate
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            article = article.model_copy(update={"ingested_at": datetime.now(UTC)})
            await producer.send(
                bench.settings.topics.raw, encode_event(article), key=article.id.encode()
            )
        await producer.flush()
    finally:
        await producer.stop()
    offered_seconds = time.monotonic() - started
    indexed = await wait_for_count(bench, run, total, baseline, 120 + seconds * 2, lambda _: None)
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(
            f"{bench.stack.elasticsearch_url}/khabar-articles/_search",
            json={
                "query": {"term": {"source": f"bench-{run}"}},
                "size": total,
                "_source": ["ingested_at", "enriched_at", "indexed_at"],
            },
        )
        response.raise_for_status()
        hits = response.json()["hits"]["hits"]

    def between(first: str, last: str) -> list[float]:
        return [
            (
                datetime.fromisoformat(h["_source"][last])
                - datetime.fromisoformat(h["_source"][first])
            ).total_seconds()
            for h in hits
            if h["_source"].get(first) and h["_source"].get(last)
        ]

    delays = between("ingested_at", "indexed_at")
    return {
        "offered_rate_per_second": rate,
        "offered": total,
        "achieved_offer_rate": round(total / offered_seconds, 1),
        "indexed": indexed,
        "latency_seconds": {
            "p50": round(percentile(delays, 50), 3),
            "p95": round(percentile(delays, 95), 3),
            "p99": round(percentile(delays, 99), 3),
            "max": round(max(delays), 3) if delays else None,
        },
        # where the time goes: raw topic + enrich (until the article is enriched), then
        # enriched topic + index batching (until its bulk request is built)
        "by_hop_p50_p99_seconds": {
            "ingest_to_enriched": p50_p99(between("ingested_at", "enriched_at")),
            "enriched_to_indexed": p50_p99(between("enriched_at", "indexed_at")),
        },
    }


async def passthrough_count(client: httpx.AsyncClient, port: int) -> int:
    """Articles the pass-through index hop has seen, from its metrics."""
    return await metric_total(client, port, 'passthrough_articles_total{stage="index"}')


@contextmanager
def local_stack(
    directory: Path, partitions: int, env: dict[str, str] | None = None
) -> Iterator[LocalStack]:
    """The broker, the search server and the four services, stopped whatever happens (``env``:
    more settings for the services)."""
    stack = LocalStack(
        directory,
        StackPorts.free(),
        extra_env={
            "KHABAR_TOPIC_PARTITIONS": str(partitions),
            "KHABAR_LOG_LEVEL": "WARNING",
            "KHABAR_API_RATE_LIMIT_PER_SECOND": "0",
            # spans would go to the same local search server; production sends them to a
            # collector, so the benchmark keeps them out of the search server's load
            "KHABAR_TRACE_STORE": "none",
            **(env or {}),
        },
    )
    try:
        stack.start_infrastructure()
        stack.start_services()
        yield stack
    finally:
        stack.stop()


def start_extra(
    stack: LocalStack,
    name: str,
    argv: list[str],
    port_variable: str,
    env: dict[str, str] | None = None,
) -> int:
    """Start one more process beside the stack, its web port in ``port_variable``; wait for
    its ``/readyz``; return the port."""
    port = free_port()
    merged = {**stack.service_env(), **(env or {}), port_variable: str(port)}
    child = Child(
        name,
        argv,
        merged,
        stack.directory / "logs" / f"{name}.log",
        http_ready(f"http://127.0.0.1:{port}/readyz"),
    )
    stack.start_child(child, timeout=180)
    return port


# --------------------------------------------------------------------------- report


def verdicts(results: dict[str, Any]) -> dict[str, Any]:
    """Each target beside the measured value, met or not."""
    sections = results["sections"]
    measured: dict[str, float | None] = {
        "enrich_articles_per_second_per_core": sections.get("enrich", {}).get(
            "articles_per_second_per_core"
        ),
        "e2e_articles_per_second": sections.get("e2e", {})
        .get("chain", {})
        .get("articles_per_second"),
        "e2e_fraction_of_passthrough": sections.get("e2e", {}).get("fraction_of_passthrough"),
        "freshness_p99_seconds": sections.get("freshness", {})
        .get("latency_seconds", {})
        .get("p99"),
        "api_gateway_overhead_p99_ms": sections.get("gateway", {})
        .get("overhead_p99_ms_worst_mix", {})
        .get("concurrency_50"),
        "scaling_two_workers_speedup": sections.get("scaling", {}).get("speedup"),
    }
    lower_is_better = {"freshness_p99_seconds", "api_gateway_overhead_p99_ms"}
    out = {}
    for name, target in TARGETS.items():
        value = measured[name]
        met = None
        if value is not None and value >= 0:
            met = value <= target if name in lower_is_better else value >= target
        out[name] = {"target": target, "measured": value, "met": met}
    return out


def markdown(results: dict[str, Any]) -> str:
    """The short table for bench/results.md and the README."""
    m = results["machine"]
    lines = [
        f"Measured {results['finished_at']} on {m['nproc']} × {m['cpu_model']}, "
        f"{m['memory_gb']} GB, Python {m['python']}; load average at start "
        f"{m['load_average_at_start']}{QUICK_NOTE if results['quick'] else ''}.",
        "",
        "| measure | target | measured | met |",
        "|---|---|---|---|",
    ]
    for name, verdict in results["verdicts"].items():
        met = {True: "yes", False: "**no**", None: "not measured"}[verdict["met"]]
        label = name.replace("_", " ")
        lines.append(f"| {label} | {verdict['target']} | {verdict['measured']} | {met} |")
    enrich = results["sections"].get("enrich")
    if enrich:
        parts = ", ".join(f"{k} {v} ms" for k, v in enrich["component_mean_ms"].items())
        lines += ["", f"Enrichment cost per ~4 KB article (mean): {parts}."]
        kb = enrich.get("knowledge_base")
        if kb:
            lines += [
                f"Knowledge base: {kb['entries']} entries, {kb['file_bytes']} bytes, loads in "
                f"{kb['load_cpu_seconds']} s CPU, matches a body in "
                f"{kb['find_mentions_ms_per_article']} ms."
            ]
    for size in results["sections"].get("api", {}).get("by_index_size", []):
        parts = ", ".join(
            f"{mix.replace('_', ' ')} p50 {size[mix]['latency_ms']['p50']} / p99 "
            f"{size[mix]['latency_ms']['p99']} ms (Elasticsearch took p50 "
            f"{size[mix]['search_server_took_ms']['p50']} / p99 "
            f"{size[mix]['search_server_took_ms']['p99']} ms)"
            for mix in ("full_text", "filter_only")
        )
        lines += [
            "",
            f"`/search` at {size['indexed_articles']} indexed articles, {size['clients']} "
            f"clients: {parts}.",
        ]
    chain = results["sections"].get("e2e", {}).get("chain")
    if chain:
        parts = ", ".join(f"{k} {v}" for k, v in chain["cpu_ms_per_article"].items())
        lines += ["", f"CPU ms per article end to end, by process: {parts}."]
    gateway = results["sections"].get("gateway")
    if gateway:
        parts = ", ".join(
            f"{mode.replace('_', ' ')} {value} ms"
            for mode, value in gateway["overhead_p99_ms_worst_mix"].items()
        )
        lines += [
            "",
            f"Gateway overhead p99 (worst request mix, replay proxy, {gateway['docs']} "
            f"documents; closed loop at N clients, open loop at R requests/s): {parts}.",
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the tool runs")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset")
    parser.add_argument("--duration", type=float, default=60.0, help="e2e window, seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the enrichment")
    parser.add_argument("--partitions", type=int, default=4)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and write the results."""
    args = parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        console.print(f"[red]unknown sections {sorted(unknown)}; choose from {SECTIONS}")
        return 2
    quick = args.quick
    sizes = {
        "enrich_articles": 30 if quick else 600,
        "api_articles": [30, 60] if quick else [2000, 20000],
        "api_seconds": 2.0 if quick else 15.0,
        "api_clients": 50,
        "fresh_seconds": 1.0 if quick else 30.0,
        "duration": 3.0 if quick else args.duration,
        "warmup": 2.0 if quick else 10.0,
        "backlog": 200 if quick else 3000,
    }
    corpus, samples = load_samples()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": machine(),
        "corpus": corpus,
        "sizes": sizes,
        "caveats": [
            "The machine's cores are shared with the broker, the search server, the four "
            "services, this load generator and, while this ran, other engineers' work: "
            "numbers are a floor, not a capacity.",
            "Apache Kafka and Elasticsearch run as single local nodes with small heaps "
            "(services/localstack.py) on the same two cores as everything else.",
        ],
        "sections": {},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        if "enrich" in sections:
            task = progress.add_task("enrichment, one core", total=1)
            profile = args.out.parent / "profile_enrich.txt" if args.profile else None
            results["sections"]["enrich"] = bench_enrichment(
                samples, sizes["enrich_articles"], profile
            )
            progress.update(task, completed=1)
        stacked = bool(set(sections) & {"api", "freshness", "e2e", "scaling"})
        # quick: on the stack's own servers, after its sections; else on a stack of its own
        gateway_on_stack = "gateway" in sections and quick and stacked
        if "gateway" in sections and not gateway_on_stack:
            run_gateway_section(progress, results, quick, args.out.parent)
        if stacked:
            try:
                run_stack_sections(
                    progress, sections, samples, sizes, args, results, gateway_on_stack
                )
            except Exception as exc:  # noqa: BLE001 - keep what was measured, say what failed
                results["error"] = f"{type(exc).__name__}: {exc}"
                console.print_exception()
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["verdicts"] = verdicts(results)
    args.out.write_text(json.dumps(finite(results), indent=2, ensure_ascii=False) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    console.print(markdown(results))
    return 1 if "error" in results else 0


def run_gateway_section(
    progress: Progress,
    results: dict[str, Any],
    quick: bool,
    out_dir: Path,
    attach: tuple[int, int] | None = None,
) -> None:
    """The gateway section with its progress line; a failure is recorded, not raised."""
    task = progress.add_task("gateway overhead (replay proxy, 1/50 clients)", total=1)
    try:
        results["sections"]["gateway"] = gateway_section(quick, out_dir, attach)
    except (subprocess.SubprocessError, OSError, KeyError, ValueError) as exc:
        results["error"] = f"gateway: {type(exc).__name__}: {exc}"
    progress.update(task, completed=1)


def run_stack_sections(
    progress: Progress,
    sections: list[str],
    samples: list[Sample],
    sizes: dict[str, Any],
    args: argparse.Namespace,
    results: dict[str, Any],
    gateway: bool = False,
) -> None:
    """The sections that need the running chain, on one local stack (and the gateway's, last:
    its corpus stays out of the others)."""
    out = results["sections"]
    with tempfile.TemporaryDirectory(prefix="khabar-bench-") as tmp:
        task = progress.add_task("starting the local stack", total=1)
        with local_stack(Path(tmp), args.partitions) as stack:
            progress.update(task, completed=1)
            bench = Bench(stack, samples)
            raw_topic = bench.settings.topics.raw
            pids = {
                name: child.process.pid
                for name, child in stack.children.items()
                if child.process is not None
            }
            if "api" in sections:
                out["api"] = api_at_sizes(progress, stack, bench, sizes)
            if "freshness" in sections:
                task = progress.add_task("freshness at 100 articles/s", total=1)
                out["freshness"] = asyncio.run(
                    freshness(bench, 100.0, sizes["fresh_seconds"], "fresh")
                )
                progress.update(task, completed=1)
            if "e2e" in sections or "scaling" in sections:
                task = progress.add_task("end to end, 1 enrich worker", total=1.0)
                chain = asyncio.run(
                    sustained_throughput(
                        bench,
                        raw_topic,
                        "e2e",
                        bench.written,
                        sizes["duration"],
                        sizes["warmup"],
                        sizes["backlog"],
                        lambda f: progress.update(task, completed=f),
                        pids,
                    )
                )
                out["e2e"] = {"chain": chain}
            if "e2e" in sections:
                out["e2e"].update(passthrough(progress, stack, bench, sizes, chain))
            if "scaling" in sections:
                task = progress.add_task("end to end, 2 enrich workers", total=1.0)
                start_extra(
                    stack,
                    "enrich-2",
                    [sys.executable, "-m", "services.cli", "serve", "enrich"],
                    "KHABAR_ENRICH_PORT",
                )
                time.sleep(sizes["warmup"])  # let the group settle after the rebalance
                child = stack.children["enrich-2"]
                assert child.process is not None
                two = asyncio.run(
                    sustained_throughput(
                        bench,
                        raw_topic,
                        "scale2",
                        bench.written,
                        sizes["duration"],
                        sizes["warmup"],
                        sizes["backlog"],
                        lambda f: progress.update(task, completed=f),
                        {**pids, "enrich-2": child.process.pid},
                    )
                )
                one_rate, two_rate = chain["articles_per_second"], two["articles_per_second"]
                out["scaling"] = {
                    "one_worker": one_rate,
                    "two_workers": two_rate,
                    "speedup": round(two_rate / one_rate, 2) if one_rate else None,
                    "two_workers_detail": two,
                }
            if gateway:
                ports = (stack.ports.kafka, stack.ports.elasticsearch)
                run_gateway_section(progress, results, args.quick, args.out.parent, ports)


def api_at_sizes(
    progress: Progress, stack: LocalStack, bench: Bench, sizes: dict[str, Any]
) -> dict[str, Any]:
    """``/search`` latency (and the search server's ``took`` beside it) once the index holds
    each of ``sizes["api_articles"]`` articles: full-text queries in three scripts, then
    filter-only ones."""
    measured: list[dict[str, Any]] = []
    indexed = 0
    for target in sizes["api_articles"]:
        count = target - indexed
        task = progress.add_task(f"api: indexing up to {target} articles", total=count)
        baseline = asyncio.run(written_now(bench))
        asyncio.run(publish_all(bench, bench.settings.topics.raw, f"api{target}", count))
        indexed += asyncio.run(
            wait_for_count(
                bench,
                f"api{target}",
                count,
                baseline,
                1800,
                lambda c: progress.update(task, completed=c),  # noqa: B023 - used at once
            )
        )
        task = progress.add_task(f"api: {sizes['api_clients']} clients on /search", total=2)
        mixes = {}
        for mix, queries in (
            ("full_text", [{"q": "پاکستان"}, {"q": "सरकार"}, {"q": "government"}, {"q": "Wales"}]),
            ("filter_only", [{"lang": "ur"}, {"lang": "hi"}, {"lang": "en"}]),
        ):
            mixes[mix] = api_section(stack, queries, sizes["api_clients"], sizes["api_seconds"])
            progress.update(task, advance=1)
        measured.append({"indexed_articles": indexed, "clients": sizes["api_clients"], **mixes})
    return {"by_index_size": measured}


def passthrough(
    progress: Progress,
    stack: LocalStack,
    bench: Bench,
    sizes: dict[str, Any],
    chain: dict[str, Any],
) -> dict[str, Any]:
    """The pass-through chain on its own topics, measured the same way."""
    prefix = "bench-passthrough."
    tool = str(ROOT / "tools" / "bench_passthrough.py")
    task = progress.add_task("pass-through chain (transport ceiling)", total=1.0)
    pt_settings = KhabarSettings(
        kafka_bootstrap=stack.kafka_bootstrap,
        topic_prefix=prefix,
        topic_partitions=int(stack.extra_env["KHABAR_TOPIC_PARTITIONS"]),
    )
    # The broker creates no topic on first use (as in production): the chain's own topics
    # come from ingest and the API at start-up, the pass-through's from here.
    asyncio.run(ensure_topics(pt_settings))
    ports = {
        stage: start_extra(
            stack,
            f"passthrough-{stage}",
            [sys.executable, tool, stage],
            "KHABAR_INDEX_PORT",
            {"KHABAR_TOPIC_PREFIX": prefix},
        )
        for stage in ("enrich", "index")
    }
    pids = {
        name: child.process.pid
        for name, child in stack.children.items()
        if name.startswith("passthrough") and child.process is not None
    }
    measured = asyncio.run(
        sustained_throughput(
            bench,
            pt_settings.topics.raw,
            "passthrough",
            lambda client: passthrough_count(client, ports["index"]),
            sizes["duration"],
            sizes["warmup"],
            sizes["backlog"] * 10,
            lambda f: progress.update(task, completed=f),
            pids,
        )
    )
    for stage in ("enrich", "index"):
        stack.children[f"passthrough-{stage}"].stop()
    rate = measured["articles_per_second"]
    return {
        "passthrough": measured,
        "fraction_of_passthrough": round(chain["articles_per_second"] / rate, 3) if rate else None,
    }


if __name__ == "__main__":
    sys.exit(main())
