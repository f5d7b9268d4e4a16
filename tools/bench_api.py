"""Benchmark the gateway's own overhead: API latency minus the search server's ``took``.

The local Elasticsearch shares two cores with everything else, so absolute search latency here
says nothing about production. What is ours is everything around the search: parsing and
validation, query understanding through the knowledge base, building the request, the pooled
connection to the search server, reading the answer and serialising the response, and the
tracing, metrics and admission checks on the way. This script

1. starts a private stack (broker, search server, the API only, rate limiting off),
2. indexes a synthetic corpus (enriched in-process, bulk-written: no pipeline needed),
3. measures every request mix through the API and the *same* search bodies directly against
   the search server, in three ways:

   - **closed loop, 1 client**: the per-request latency with nothing queued;
   - **closed loop, N clients** (``--concurrency``, default 50): each client sends its next
     request as soon as the previous answer arrives. On a machine whose cores are shared by
     the load generator, the gateway and the search server this is a *throughput* test: the
     latency is N / throughput, mostly time spent queued for a CPU;
   - **open loop** (``--rates``): N connections issue requests at a fixed combined rate on a
     schedule, and latency is measured from each request's *scheduled* send time, so a
     stalled server is charged for the requests it delayed (no coordinated omission);

4. records, per request, the wall latency and the ``took_ms`` the API reports (overhead =
   latency − took), the API process's CPU time per request (from ``/proc``, workers
   included) and the load average before and after, and repeats everything ``--runs`` times
   (default 2) because the machine may be busy,
5. writes it all to ``bench/api.json`` and prints a summary.

The load generator is a few lines of asyncio speaking HTTP/1.1 over keep-alive connections,
not httpx: a general-purpose client costs several times the gateway's own CPU per request,
and on two shared cores that time would be charged to the gateway.

``--backend replay`` (the default) puts a replaying proxy between the API and the search
server: it records each distinct search answer once, then answers from memory, so what
remains is the gateway. Replayed answers carry ``took`` = 0 (the search server did no work for
them), so the overhead here is the whole API latency. The gateway's
span exports (bulk requests to the span index) are answered by the proxy without indexing
(``--spans sink``): the gateway still builds and sends every span, but the search server's
cost of indexing them is not the gateway's. ``--spans store`` forwards them.

``--api-workers N`` runs the API under ``uvicorn --factory --workers N`` instead of
``khabar serve api`` (one process), to see what a second process does on these cores.

    .venv/bin/python tools/bench_api.py --docs 400 --seconds 5 --rates 100,200 --runs 2
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import numpy
from process_cpu import cpu_seconds

from services.api.resolve import resolve_query
from services.api.search import SearchParams, build_search
from services.enrich.pipeline import Enricher
from services.localstack import (
    Child,
    LocalStack,
    StackPorts,
    free_port,
    gateway_argv,
    http_ready,
)
from shared.elastic import article_document, ensure_index, make_client
from shared.ids import article_id
from shared.kb import KnowledgeBase
from shared.models import RawArticle
from shared.settings import ApiSettings
from shared.vectors import model_dims

ALIAS = "khabar-articles"
#: the corpus's alias beside another run's index (``--attach``)
ATTACHED_ALIAS = "khabar-bench-api-articles"

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
    p50, p90, p99 = (round(float(p), 2) for p in numpy.percentile(values, [50, 90, 99]))
    return {
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "mean": round(statistics.fmean(values), 2),
        "max": round(max(values), 2),
    }


async def seed(url: str, docs: int, alias: str) -> None:
    """Index a synthetic corpus of enriched articles in three languages under ``alias``."""
    enricher = Enricher()
    rng = random.Random(7)
    settings = ApiSettings(elasticsearch_url=url)
    es = make_client(settings)
    try:
        await ensure_index(es, alias, model_dims())
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
            operations.append({"index": {"_index": alias, "_id": article.id}})
            operations.append(article_document(article))
        await es.bulk(operations=operations, refresh=True)
    finally:
        await es.close()


# --------------------------------------------------------------------------- load generator


class Connection:
    """One keep-alive HTTP/1.1 connection that sends prepared requests and reads answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one prepared request; the status and body of the answer."""
        reader, writer = await self._open()
        try:
            writer.write(raw)
            return await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise

    def close(self) -> None:
        """Drop the connection (the next request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def read_head(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes]]:
    """A message's first line and its headers (names lowercased)."""
    head = await reader.readuntil(b"\r\n\r\n")
    first, *lines = head[:-4].split(b"\r\n")
    headers: dict[bytes, bytes] = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return first, headers


async def read_body(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> bytes:
    """A message body by Content-Length or chunked transfer encoding."""
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return b"".join(chunks)
            chunks.append(chunk[:-2])
    length = int(headers.get(b"content-length", b"0"))
    return await reader.readexactly(length) if length else b""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response."""
    first, headers = await read_head(reader)
    return int(first.split(b" ", 2)[1]), await read_body(reader, headers)


def get_request(host: str, target: str) -> bytes:
    """A GET request, encoded once."""
    return f"GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: khabar-bench\r\n\r\n".encode()


def post_request(host: str, target: str, body: bytes) -> bytes:
    """A JSON POST request, encoded once."""
    return (
        f"POST {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: khabar-bench\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


_API_TOOK = re.compile(rb'"took_ms":(\d+|null)')
_ES_TOOK = re.compile(rb'"took":(\d+)')


def took_of(body: bytes, api: bool) -> float | None:
    """The search server's ``took`` from an API answer (its last ``took_ms``) or an ES one."""
    if api:
        found = _API_TOOK.findall(body)
        value = found[-1] if found else None
    else:
        match = _ES_TOOK.search(body)
        value = match.group(1) if match else None
    return None if value is None or value == b"null" else float(value)


class Target:
    """Where requests go, the prepared request, and how to read ``took`` from the answer."""

    def __init__(self, url: str, raw: bytes, api: bool) -> None:
        parsed = urlsplit(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.raw = raw
        self.api = api


class Samples:
    """Latencies (ms), the matching ``took`` values (ms) and the failures of one measurement."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.tooks: list[float] = []
        self.errors = 0

    async def one(self, connection: Connection, target: Target, since: float) -> None:
        """Send the request; latency counted from ``since`` (perf_counter seconds)."""
        try:
            status, body = await connection.request(target.raw)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.errors += 1
            return
        elapsed = (time.perf_counter() - since) * 1000
        took = took_of(body, target.api) if status == 200 else None
        if status != 200 or (target.api and took is None and b'"took_ms":null' not in body):
            self.errors += 1
            return
        self.latencies.append(elapsed)
        self.tooks.append(took or 0.0)


async def closed_loop(target: Target, clients: int, seconds: float) -> Samples:
    """``clients`` connections, each sending its next request when the answer arrives."""
    samples = Samples()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        connection = Connection(target.host, target.port)
        try:
            while time.perf_counter() < deadline:
                await samples.one(connection, target, time.perf_counter())
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return samples


async def open_loop(target: Target, rate: float, connections: int, seconds: float) -> Samples:
    """Requests at ``rate``/s on a fixed schedule over ``connections`` keep-alive connections.

    A request that found every connection busy at its scheduled time is timed from that time,
    so a stalled server is charged for the requests it delayed (no coordinated omission).
    """
    samples = Samples()
    count = max(1, int(rate * seconds))
    start = time.perf_counter() + 0.05
    queue: asyncio.Queue[float] = asyncio.Queue()
    for number in range(count):
        queue.put_nowait(start + number / rate)

    async def client() -> None:
        connection = Connection(target.host, target.port)
        try:
            while True:
                try:
                    scheduled = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                late = time.perf_counter() > scheduled  # every connection was busy
                if not late:
                    await asyncio.sleep(scheduled - time.perf_counter())
                # Charged from the schedule when the request had to wait for a connection;
                # otherwise from the actual send, so the event loop's timer granularity
                # (a sleep wakes up to ~1 ms late) is not counted against the server.
                await samples.one(connection, target, scheduled if late else time.perf_counter())
        finally:
            connection.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return samples


# --------------------------------------------------------------------------- measuring


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def summarise(samples: Samples, seconds: float, cpu_seconds: float | None) -> dict[str, Any]:
    """Percentiles of latency, took and overhead, throughput and CPU per request."""
    overhead = [lat - took for lat, took in zip(samples.latencies, samples.tooks, strict=True)]
    done = len(samples.latencies)
    return {
        "requests": done,
        "errors": samples.errors,
        "throughput_rps": round(done / seconds, 1),
        "latency_ms": _percentiles(samples.latencies),
        "search_took_ms": _percentiles(samples.tooks),
        "overhead_ms": _percentiles(overhead),
        "cpu_ms_per_request": (
            round(cpu_seconds * 1000 / done, 3) if cpu_seconds is not None and done else None
        ),
    }


async def measure_mode(
    target: Target, mode: str, value: float, seconds: float, connections: int, pid: int | None
) -> dict[str, Any]:
    """One mode (``closed`` with ``value`` clients, ``open`` at ``value`` requests/s)."""
    warm = await closed_loop(target, 2, 0.5)  # connections, pools and caches
    del warm
    before = cpu_seconds(pid)
    started = time.perf_counter()
    if mode == "closed":
        samples = await closed_loop(target, int(value), seconds)
    else:
        samples = await open_loop(target, value, connections, seconds)
    elapsed = time.perf_counter() - started
    after = cpu_seconds(pid)
    cpu = after - before if before is not None and after is not None else None
    return summarise(samples, elapsed, cpu)


def modes(concurrency: list[int], rates: list[float]) -> list[tuple[str, str, float]]:
    """(key, mode, value) for every measurement of a run."""
    found = [(f"concurrency_{n}", "closed", float(n)) for n in concurrency]
    found += [(f"open_{rate:g}rps", "open", rate) for rate in rates]
    return found


async def measure_run(
    api_url: str,
    search_url: str,
    kb: KnowledgeBase,
    plan: list[tuple[str, str, float]],
    seconds: float,
    connections: int,
    api_pid: int | None,
    search_pid: int | None,
    alias: str = ALIAS,
) -> dict[str, Any]:
    """Every mode and mix once, through the API and directly against the search server."""
    results: dict[str, Any] = {}
    api_host = urlsplit(api_url).netloc
    search_host = urlsplit(search_url).netloc
    for key, mode, value in plan:
        results[key] = {}
        for name, params in MIXES.items():
            query = urlencode(params)
            api = Target(api_url, get_request(api_host, f"/search?{query}"), api=True)
            body = json.dumps(_direct_body(params, kb)).encode()
            direct = Target(
                search_url, post_request(search_host, f"/{alias}/_search", body), api=False
            )
            via_api = await measure_mode(api, mode, value, seconds, connections, api_pid)
            straight = await measure_mode(direct, mode, value, seconds, connections, search_pid)
            results[key][name] = {
                "params": params,
                "requests": via_api["requests"],
                "errors": via_api["errors"],
                "throughput_rps": via_api["throughput_rps"],
                "api_latency_ms": via_api["latency_ms"],
                "search_took_ms": via_api["search_took_ms"],
                "gateway_overhead_ms": via_api["overhead_ms"],
                "api_cpu_ms_per_request": via_api["cpu_ms_per_request"],
                "direct_search_latency_ms": straight["latency_ms"],
                "direct_errors": straight["errors"],
                "direct_throughput_rps": straight["throughput_rps"],
                "search_server_cpu_ms_per_request": straight["cpu_ms_per_request"],
            }
            row = results[key][name]
            print(
                f"  {key:16s} {name:18s} n={row['requests']:5d} err={row['errors']}"
                f" rps={row['throughput_rps']:7.1f} overhead p50={_p(row, 'p50')}"
                f" p99={_p(row, 'p99')} cpu/req={row['api_cpu_ms_per_request']}"
                f" | direct p50={row['direct_search_latency_ms'].get('p50')}"
                f" p99={row['direct_search_latency_ms'].get('p99')}",
                flush=True,
            )
    return results


def _p(row: dict[str, Any], quantile: str) -> Any:
    return row["gateway_overhead_ms"].get(quantile)


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


# --------------------------------------------------------------------------- replay proxy


_TOOK = re.compile(rb'^\{"took":\d+')
_REASONS = {200: b"OK", 201: b"Created", 400: b"Bad Request", 404: b"Not Found"}


class ReplayProxy:
    """An HTTP/1.1 proxy to the search server answering each distinct search from memory.

    The first time a ``_search`` request (method, target, body) is seen it is forwarded and
    its answer recorded; later ones are answered from memory in microseconds. With
    ``sink_spans`` a bulk write into the span index is answered "stored" without being
    forwarded (the gateway's exporter still does all its work). Everything else is forwarded.
    """

    def __init__(self, upstream: str, sink_spans: bool = True, span_index: str = "") -> None:
        self.upstream = upstream
        self.sink_spans = sink_spans
        self.span_marker = f'"_index":"{span_index or ApiSettings().trace_index}"'.encode()
        self.recorded: dict[tuple[bytes, bytes, bytes], tuple[int, bytes]] = {}
        self.locks: dict[tuple[bytes, bytes, bytes], asyncio.Lock] = {}
        self.client = httpx.AsyncClient(base_url=upstream, timeout=120)

    async def forward(self, method: bytes, target: bytes, body: bytes) -> tuple[int, bytes]:
        """Ask the search server."""
        response = await self.client.request(
            method.decode(),
            target.decode(),
            content=body,
            headers={"content-type": "application/json"},
        )
        return response.status_code, response.content

    async def answer(self, method: bytes, target: bytes, body: bytes) -> tuple[int, bytes]:
        """The recorded answer, a sunk span write, or the search server's answer."""
        key = (method, target, body)
        found = self.recorded.get(key)
        if found is not None:
            return found
        path = target.split(b"?", 1)[0]
        if self.sink_spans and path.endswith(b"/_bulk") and self.span_marker in body[:400]:
            return 200, b'{"took":0,"errors":false,"items":[]}'
        if not path.endswith(b"/_search"):
            return await self.forward(method, target, body)
        async with self.locks.setdefault(key, asyncio.Lock()):  # one recording per request
            found = self.recorded.get(key)
            if found is None:
                found = await self.forward(method, target, body)
                if found[0] == 200:
                    # Replayed, the answer takes the search server no time at all: its
                    # recorded ``took`` would be subtracted from latency it never added.
                    self.recorded[key] = (found[0], _TOOK.sub(b'{"took":0', found[1], count=1))
        return found

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer requests on one keep-alive connection until the client closes it."""
        try:
            while True:
                try:
                    first, headers = await read_head(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, target, _ = first.split(b" ", 2)
                body = await read_body(reader, headers)
                status, content = await self.answer(method, target, body)
                writer.write(
                    b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                    b"x-elastic-product: Elasticsearch\r\ncontent-length: %d\r\n\r\n"
                    % (status, _REASONS.get(status, b"Other"), len(content))
                    + content
                )
        finally:
            writer.close()

    async def run(self, port: int) -> None:
        """Serve forever on loopback."""
        server = await asyncio.start_server(self.serve_connection, "127.0.0.1", port)
        async with server:
            await server.serve_forever()


def serve_replay(port: int, upstream: str, sink_spans: bool) -> None:
    """Run the replaying proxy (a child process of the benchmark)."""
    asyncio.run(ReplayProxy(upstream, sink_spans).run(port))


# --------------------------------------------------------------------------- main


def api_child(stack: LocalStack, workers: int) -> Child:
    """The API: ``khabar serve api`` (one process) or uvicorn's multi-process mode."""
    child = stack.service_child("api")
    if workers > 1:
        child.argv = gateway_argv(stack.ports.api, "--workers", str(workers), "--no-access-log")
    return child


def summary_rows(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per mode and mix: overhead p50/p99, throughput and CPU per request of every run."""
    rows: dict[str, Any] = {}
    for run in runs:
        for key, mixes in run["results"].items():
            for name, row in mixes.items():
                entry = rows.setdefault(key, {}).setdefault(
                    name, {"overhead_p50_ms": [], "overhead_p99_ms": [], "throughput_rps": []}
                )
                entry["overhead_p50_ms"].append(row["gateway_overhead_ms"].get("p50"))
                entry["overhead_p99_ms"].append(row["gateway_overhead_ms"].get("p99"))
                entry["throughput_rps"].append(row["throughput_rps"])
                entry.setdefault("api_cpu_ms_per_request", []).append(row["api_cpu_ms_per_request"])
                entry.setdefault("direct_p99_ms", []).append(
                    row["direct_search_latency_ms"].get("p99")
                )
    return rows


def main() -> None:
    """Run the benchmark and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=5.0, help="per mode, mix and target")
    parser.add_argument(
        "--concurrency", default="1,50", help="comma-separated closed-loop client counts"
    )
    parser.add_argument(
        "--rates", default="100,200", help="comma-separated open-loop rates (requests/s)"
    )
    parser.add_argument(
        "--connections", type=int, default=50, help="connections of the open-loop mode"
    )
    parser.add_argument("--runs", type=int, default=2, help="repeat every measurement")
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/api.json"))
    parser.add_argument(
        "--backend",
        choices=["replay", "direct"],
        default="replay",
        help="replay: the API talks to a recording proxy that answers from memory (isolates "
        "the gateway); direct: the API talks to the local search server itself.",
    )
    parser.add_argument(
        "--spans",
        choices=["sink", "store"],
        default="sink",
        help="replay only: answer the gateway's span writes without indexing them (sink) or "
        "forward them to the search server (store).",
    )
    parser.add_argument(
        "--attach",
        nargs=2,
        type=int,
        metavar=("KAFKA_PORT", "ELASTICSEARCH_PORT"),
        help="use a Kafka and an Elasticsearch already running on these local ports instead "
        f"of starting them (the corpus then goes under an alias of its own, {ATTACHED_ALIAS})",
    )
    parser.add_argument("--serve-replay", nargs=3, metavar=("PORT", "UPSTREAM", "SPANS"))
    args = parser.parse_args()
    if args.attach and args.backend != "replay":
        parser.error("--attach needs --backend replay (the search server is not ours to watch)")
    if args.serve_replay:
        port, upstream, spans = args.serve_replay
        serve_replay(int(port), upstream, spans == "sink")
        return

    directory = Path(tempfile.mkdtemp(prefix="khabar-bench-api-"))
    ports = StackPorts.free()
    alias = ALIAS
    replay_port = free_port()
    replay_url = f"http://127.0.0.1:{replay_port}"
    env = {"KHABAR_API_RATE_LIMIT_PER_SECOND": "0", "KHABAR_LOG_LEVEL": "WARNING"}
    if args.attach:
        ports = dataclasses.replace(ports, kafka=args.attach[0], elasticsearch=args.attach[1])
        alias = ATTACHED_ALIAS
        env["KHABAR_INDEX_ALIAS"] = alias
    if args.backend == "replay":
        env["KHABAR_ELASTICSEARCH_URL"] = replay_url
    stack = LocalStack(directory, ports, extra_env=env)
    plan = modes(
        [int(c) for c in args.concurrency.split(",") if c],
        [float(r) for r in args.rates.split(",") if r],
    )
    runs: list[dict[str, Any]] = []
    try:
        if not args.attach:
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
                        args.spans,
                    ],
                    {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
                    directory / "logs" / "replay.log",
                    http_ready(f"{replay_url}/_cluster/health"),
                )
            )
        asyncio.run(seed(stack.elasticsearch_url, args.docs, alias))
        stack.start_child(api_child(stack, args.api_workers))
        kb = KnowledgeBase.load()
        search_url = replay_url if args.backend == "replay" else stack.elasticsearch_url
        api_pid = _pid(stack.children["api"])
        search_pid = _pid(stack.children["replay" if args.backend == "replay" else "elasticsearch"])
        for number in range(1, args.runs + 1):
            started = load_average()
            print(f"run {number}/{args.runs}, load average {started}", flush=True)
            results = asyncio.run(
                measure_run(
                    stack.api_url,
                    search_url,
                    kb,
                    plan,
                    args.seconds,
                    args.connections,
                    api_pid,
                    search_pid,
                    alias,
                )
            )
            runs.append(
                {
                    "load_average_start": started,
                    "load_average_end": load_average(),
                    "results": results,
                }
            )
    finally:
        stack.stop()
        stack.clean()
    report = {
        "what": "gateway overhead = API wall latency - search server took, per request",
        "backend": args.backend,
        "docs": args.docs,
        "concurrency": args.concurrency,
        "open_loop_rates_rps": args.rates,
        "open_loop_connections": args.connections,
        "seconds_per_mix": args.seconds,
        "repetitions": args.runs,
        "api_workers": args.api_workers,
        "span_writes": args.spans if args.backend == "replay" else "store",
        "load_generator": "asyncio HTTP/1.1 keep-alive connections (one per client)",
        "cpu_count": os.cpu_count(),
        "note": "client, gateway and search server share the machine's cores; the overhead "
        "includes waiting for a CPU under load. took is whole milliseconds; the local search "
        "server reports took = 0 and the replay proxy returns the recorded took, so here the "
        "overhead is the whole API latency. concurrency_N = closed loop with N clients "
        "(latency = N / throughput once a CPU is saturated); open_<R>rps = open loop at R "
        "requests/s over open_loop_connections connections, latency from the scheduled send "
        "time. api_cpu_ms_per_request = the API process's user+system CPU per request.",
        "measured_at": datetime.now(UTC).isoformat(),
        "load_average": [
            {"start": run["load_average_start"], "end": run["load_average_end"]} for run in runs
        ],
        "runs": runs[0]["results"] if runs else {},
        "repeat_runs": [run["results"] for run in runs[1:]],
        "summary": summary_rows(runs),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print_summary(report)
    print(f"wrote {args.out}")


def _pid(child: Child) -> int | None:
    return child.process.pid if child.process is not None else None


def print_summary(report: dict[str, Any]) -> None:
    """Overhead p50/p99 per mode and mix, each run, with the load average."""
    print("load average per run (start -> end):", report["load_average"])
    for key, mixes in report["summary"].items():
        for name, entry in mixes.items():
            print(
                f"{key:16s} {name:18s} overhead p50 {entry['overhead_p50_ms']}"
                f" p99 {entry['overhead_p99_ms']} ms, {entry['throughput_rps']} req/s,"
                f" api cpu {entry['api_cpu_ms_per_request']} ms/req"
            )


if __name__ == "__main__":
    main()
