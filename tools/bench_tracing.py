"""What tracing costs: enrichment + publish throughput with tracing on and off.

Each measurement runs in a fresh process (a tracer provider can be installed once per process)
against a real local broker and search server:

- ``off``: the no-op tracer provider; the Kafka instrumentation is still installed, so this is
  the cost floor of the code path with telemetry compiled in but disabled.
- ``recorded``: the SDK provider, a ``{topic} process`` CONSUMER span per article (what faust's
  sensor opens) and ``traceparent`` injected into every produced message, but no exporter
  (``KHABAR_TRACE_STORE=none``): the cost of tracing itself.
- ``on``: exactly what a service runs locally: ``recorded`` plus the batch processor exporting
  spans to the Elasticsearch span index (on this machine the search server shares the cores).

Per article: ``Enricher.enrich`` on ~4 KB Urdu/Hindi/English news, then an aiokafka send to a
topic (pipelined; all acknowledgements awaited before the clock stops). The modes alternate
(``off, recorded, on, off …``) so drift on a shared machine hits both. Spans created versus stored
tells whether the exporter kept up or the batch queue dropped spans (it drops rather than
blocks, by design). Throughput is reported per CPU-second of the measuring process (exporter
thread included) as well as per wall-clock second: on a shared machine the wall clock moves more
between runs than tracing costs. Results: ``bench/tracing.json``.

    .venv/bin/python tools/bench_tracing.py [--articles 2000] [--rounds 3]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_corpus import load_samples, raw_articles  # noqa: E402

from services.localstack import LocalStack, StackPorts  # noqa: E402
from shared.kafka import encode_event, event_headers, make_producer  # noqa: E402
from shared.settings import KhabarSettings  # noqa: E402

TOPIC = "bench.tracing"
SPAN_INDEX = "khabar-spans-bench"
MODES = ("off", "recorded", "on")


async def _measure(mode: str, settings: KhabarSettings, count: int, run: str) -> dict[str, Any]:
    """One timed pass in this process; tracing already configured for ``mode``."""
    from opentelemetry import trace

    from services.enrich.pipeline import Enricher

    tracer = trace.get_tracer("bench")
    enricher = Enricher()
    _, samples = load_samples()
    articles = list(raw_articles(samples, count, run))
    for article in articles[:50]:  # warm caches and models outside the clock
        enricher.enrich(article)
    producer = make_producer(settings)
    await producer.start()
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        futures = []
        for article in articles:
            with tracer.start_as_current_span(
                f"{TOPIC} process",
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.kafka.message.key": article.id},
            ):
                enriched = enricher.enrich(article)
                futures.append(
                    await producer.send(
                        TOPIC,
                        encode_event(enriched),
                        key=article.id.encode(),
                        headers=event_headers(article=enriched),
                    )
                )
        await asyncio.gather(*futures)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return {
        "mode": mode,
        "articles": count,
        "seconds": round(elapsed, 3),
        "cpu_seconds_started": cpu_started,
    }


def child(mode: str, count: int, run: str) -> None:
    """Run one measurement (in a subprocess) and print it as JSON."""
    from opentelemetry import trace
    from prometheus_client import REGISTRY

    from shared.telemetry import configure_tracing, instrument_kafka, shutdown_tracing

    settings = KhabarSettings()
    if mode == "recorded":
        configure_tracing("bench", settings.model_copy(update={"trace_store": "none"}))
    elif mode == "on":
        configure_tracing("bench", settings)
    else:
        trace.set_tracer_provider(trace.NoOpTracerProvider())
    instrument_kafka()
    result = asyncio.run(_measure(mode, settings, count, run))
    flush_started = time.perf_counter()
    shutdown_tracing()  # flushes the batch processor: its export work is part of the cost
    result["flush_seconds"] = round(time.perf_counter() - flush_started, 3)
    result["cpu_seconds"] = round(time.process_time() - result.pop("cpu_seconds_started"), 3)
    for outcome in ("stored", "failed"):
        value = REGISTRY.get_sample_value("telemetry_spans_exported_total", {"outcome": outcome})
        result[f"spans_{outcome}"] = int(value or 0)
    sys.stdout.write(json.dumps(result) + "\n")


def span_cost_microseconds(iterations: int = 20_000) -> float:
    """CPU microseconds tracing adds per article: a process span, a send span, an injection.

    Measured without enrichment or a broker, so contention that blurs the end-to-end runs
    barely moves it; spans go to a batch processor whose exporter discards them.
    """
    from opentelemetry import trace
    from opentelemetry.propagate import inject
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    tracer = provider.get_tracer("bench")
    started = time.process_time()
    for n in range(iterations):
        with tracer.start_as_current_span(
            f"{TOPIC} process",
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.kafka.message.key": str(n)},
        ):
            with tracer.start_as_current_span(f"{TOPIC} send", kind=trace.SpanKind.PRODUCER):
                carrier: dict[str, str] = {}
                inject(carrier)
    provider.shutdown()
    return round((time.process_time() - started) / iterations * 1e6, 1)


def _run_child(stack: LocalStack, mode: str, count: int, run: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "KHABAR_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "KHABAR_ELASTICSEARCH_URL": stack.elasticsearch_url,
        "KHABAR_TRACE_STORE": "elasticsearch",
        "KHABAR_TRACE_INDEX": SPAN_INDEX,
        "KHABAR_LOG_LEVEL": "WARNING",
    }
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--child", mode, "--articles", str(count), "--run", run],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["articles_per_second"] = round(result["articles"] / result["seconds"], 1)
    result["articles_per_cpu_second"] = round(result["articles"] / result["cpu_seconds"], 1)
    return result


def _stored_spans(stack: LocalStack) -> int:
    httpx.post(f"{stack.elasticsearch_url}/{SPAN_INDEX}/_refresh", timeout=30)
    response = httpx.get(f"{stack.elasticsearch_url}/{SPAN_INDEX}/_count", timeout=30)
    return int(response.json().get("count", 0)) if response.status_code == 200 else 0


def main() -> None:
    """Alternate off/on runs on a local broker and search server; write bench/tracing.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "tracing.json")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--run", default="bench", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.articles, args.run)
        return

    with tempfile.TemporaryDirectory(prefix="khabar-bench-tracing-") as directory:
        stack = LocalStack(Path(directory), StackPorts.free())
        try:
            stack.start_infrastructure()
            runs: list[dict[str, Any]] = []
            for round_number in range(args.rounds):
                for mode in MODES:
                    result = _run_child(stack, mode, args.articles, f"{mode}{round_number}")
                    runs.append(result)
                    sys.stderr.write(f"{json.dumps(result)}\n")
            stored_in_index = _stored_spans(stack)
        finally:
            stack.stop()

    def median(mode: str, key: str = "articles_per_cpu_second") -> float:
        return statistics.median(r[key] for r in runs if r["mode"] == mode)

    off, recorded, on = (median(mode) for mode in MODES)
    created = args.rounds * args.articles * 2  # process span + aiokafka send span per article
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "what": "Enricher.enrich + aiokafka send per article, one process, real local broker",
        "articles_per_run": args.articles,
        "rounds": args.rounds,
        "articles_per_cpu_second": {
            "tracing_off": off,
            "tracing_recorded_not_exported": recorded,
            "tracing_on_elasticsearch_store": on,
        },
        "cpu_overhead_percent": {
            "tracing": round((off - recorded) / off * 100, 1),
            "tracing_and_span_export": round((off - on) / off * 100, 1),
        },
        "tracing_cpu_microseconds_per_article": span_cost_microseconds(),
        "articles_per_second_wall_clock": {
            mode: median(mode, "articles_per_second") for mode in MODES
        },
        "note": (
            "CPU time of the measuring process (batch exporter thread included) is the primary "
            "number: wall-clock throughput on a shared 2-core machine varies more between runs "
            "than tracing costs. The search server's own CPU for indexing spans is not included."
        ),
        "spans": {
            "created": created,
            "stored_in_span_index": stored_in_index,
            "dropped_or_failed": created - stored_in_index,
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    sys.stdout.write(json.dumps(report["articles_per_cpu_second"]) + f" → {args.out}\n")


if __name__ == "__main__":
    main()
