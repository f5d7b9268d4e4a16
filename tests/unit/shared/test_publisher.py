"""The publisher's traces: a lone article joins the request's trace, a batch's are their own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.ingest import service as service_module
from services.ingest.service import IngestService
from shared import publisher as publisher_module
from shared.models import ArticleSubmission, RawArticle
from shared.publisher import Publisher
from shared.settings import IngestSettings


class _FakeProducer:
    """Records the span current at each send: the one whose ``traceparent`` the Kafka
    instrumentation would write into the record."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, trace.SpanContext]] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, topic: str, value: bytes, **options: Any) -> asyncio.Future[object]:
        self.sent.append((options["key"], trace.get_current_span().get_span_context()))
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


@pytest.fixture
def tracing(monkeypatch: pytest.MonkeyPatch) -> tuple[trace.Tracer, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    monkeypatch.setattr(publisher_module, "tracer", tracer)
    monkeypatch.setattr(service_module, "tracer", tracer)
    return tracer, memory


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> _FakeProducer:
    fake = _FakeProducer()
    monkeypatch.setattr(publisher_module, "make_producer", lambda settings: fake)
    return fake


def _articles(count: int) -> list[RawArticle]:
    return [
        ArticleSubmission(title=f"Article {n}", body=f"Body of article {n}.").to_raw()
        for n in range(count)
    ]


def _published(memory: InMemorySpanExporter) -> list[ReadableSpan]:
    return [span for span in memory.get_finished_spans() if span.name == "ingest article"]


def _run_in_span(
    tracer: trace.Tracer, name: str, publish: Callable[[Publisher], Awaitable[object]]
) -> trace.SpanContext:
    """Start a publisher and run ``publish(publisher)`` inside a span called ``name``."""

    async def run() -> trace.SpanContext:
        publisher = Publisher(IngestSettings(), origin="api")
        await publisher.start()
        with tracer.start_as_current_span(name) as span:
            await publish(publisher)
        await publisher.stop()
        return span.get_span_context()

    return asyncio.run(run())


def test_one_article_is_published_in_the_request_trace(
    tracing: tuple[trace.Tracer, InMemorySpanExporter], producer: _FakeProducer
) -> None:
    tracer, memory = tracing
    (article,) = _articles(1)
    request = _run_in_span(tracer, "POST /articles", lambda p: p.publish(article))
    (span,) = _published(memory)
    assert span.parent is not None and span.parent.span_id == request.span_id
    assert span.attributes is not None and span.attributes["khabar.article_id"] == article.id
    assert producer.sent == [(article.id.encode(), span.context)]


def test_a_batch_of_articles_is_one_trace_each_linked_to_the_request(
    tracing: tuple[trace.Tracer, InMemorySpanExporter], producer: _FakeProducer
) -> None:
    tracer, memory = tracing
    articles = _articles(3)
    request = _run_in_span(tracer, "POST /articles/batch", lambda p: p.publish_many(articles))
    spans = _published(memory)
    assert len({span.context.trace_id for span in spans}) == len(articles)
    assert all(span.parent is None for span in spans)
    assert all([link.context for link in span.links] == [request] for span in spans)
    assert producer.sent == [
        (article.id.encode(), span.context) for article, span in zip(articles, spans, strict=True)
    ]


def test_a_file_of_articles_is_one_trace_each_linked_to_the_file_read(
    tmp_path: Path,
    tracing: tuple[trace.Tracer, InMemorySpanExporter],
    producer: _FakeProducer,
) -> None:
    _, memory = tracing
    path = tmp_path / "two.jsonl"
    lines = [{"title": f"Article {n}", "body": f"Body of article {n}."} for n in range(2)]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")

    async def ingest() -> int:
        service = IngestService(IngestSettings())
        await service.publisher.start()
        try:
            return await service.ingest_file(path)
        finally:
            await service.publisher.stop()

    assert asyncio.run(ingest()) == 2
    (read,) = [span for span in memory.get_finished_spans() if span.name == "ingest file"]
    assert read.attributes is not None and read.attributes["khabar.batch_size"] == 2
    spans = _published(memory)
    assert len({span.context.trace_id for span in spans} - {read.context.trace_id}) == 2
    assert all([link.context for link in span.links] == [read.context] for span in spans)
    assert (tmp_path / "done" / "two.jsonl").exists()
