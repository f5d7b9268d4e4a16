"""Tracing set-up: where spans go, which roots are dropped, and the stream sensor's spans."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import TP
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision

from shared.errors import ConfigurationError
from shared.settings import KhabarSettings
from shared.telemetry import (
    SkipProbes,
    StreamTracingSensor,
    TraceContextFilter,
    links_to_current,
    span_exporter,
    start_message_span,
    trace_store,
)
from shared.tracestore import ElasticsearchSpanExporter


@pytest.mark.parametrize(
    ("store", "endpoint", "expected"),
    [
        ("auto", None, "elasticsearch"),
        ("auto", "http://collector:4318", "otlp"),
        ("elasticsearch", "http://collector:4318", "elasticsearch"),
        ("none", None, "none"),
    ],
)
def test_trace_store_resolution(store: str, endpoint: str | None, expected: str) -> None:
    settings = KhabarSettings(trace_store=store, otlp_endpoint=endpoint)
    assert trace_store(settings) == expected


def test_exporter_per_store() -> None:
    assert isinstance(span_exporter(KhabarSettings()), ElasticsearchSpanExporter)
    assert span_exporter(KhabarSettings(trace_store="none")) is None
    otlp = span_exporter(KhabarSettings(otlp_endpoint="http://collector:4318/"))
    assert type(otlp).__name__ == "OTLPSpanExporter"
    with pytest.raises(ConfigurationError):
        span_exporter(KhabarSettings(trace_store="otlp"))


def test_readiness_pings_are_not_sampled_as_roots() -> None:
    sampler = SkipProbes(ALWAYS_ON)
    assert sampler.should_sample(None, 1, "ping").decision is Decision.DROP
    assert sampler.should_sample(None, 1, "search").decision is Decision.RECORD_AND_SAMPLE
    assert "AlwaysOn" in sampler.get_description()


@pytest.fixture
def tracing() -> tuple[trace.Tracer, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider.get_tracer("test"), memory


def test_a_message_of_a_batch_is_its_own_trace_linked_to_the_batch(
    tracing: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, memory = tracing
    with tracer.start_as_current_span("POST /articles/batch") as request:
        for n in range(2):
            with start_message_span(
                tracer, "ingest article", own_trace=True, attributes={"n": n}
            ) as span:
                assert trace.get_current_span() is span
                with tracer.start_as_current_span("articles.raw send"):
                    pass
    spans = memory.get_finished_spans()
    cause = request.get_span_context()
    messages = [span for span in spans if span.name == "ingest article"]
    assert len({span.context.trace_id for span in messages}) == 2
    for published in messages:
        assert published.parent is None and published.kind is trace.SpanKind.PRODUCER
        assert published.context.trace_id != cause.trace_id
        assert [link.context for link in published.links] == [cause]
    sends = [span for span in spans if span.name == "articles.raw send"]
    assert {span.context.trace_id for span in sends} == {m.context.trace_id for m in messages}


def test_a_message_alone_continues_the_current_trace(
    tracing: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, memory = tracing
    with tracer.start_as_current_span("POST /articles") as request:
        with start_message_span(tracer, "ingest article", own_trace=False):
            pass
    (message,) = [span for span in memory.get_finished_spans() if span.name == "ingest article"]
    assert message.parent is not None
    assert message.parent.span_id == request.get_span_context().span_id
    assert message.context.trace_id == request.get_span_context().trace_id
    assert message.kind is trace.SpanKind.PRODUCER and not message.links


def test_a_message_read_outside_any_span_is_an_unlinked_root(
    tracing: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, memory = tracing
    assert links_to_current() == []
    with start_message_span(tracer, "ingest article", own_trace=True):
        pass
    (message,) = memory.get_finished_spans()
    assert message.parent is None and not message.links


def _message_from(tracer: trace.Tracer) -> tuple[Any, trace.Span]:
    """A consumed message whose headers carry a producer span's ``traceparent``."""
    with tracer.start_as_current_span("articles.raw send", kind=trace.SpanKind.PRODUCER) as span:
        carrier: dict[str, str] = {}
        inject(carrier)
    headers = [(key, value.encode()) for key, value in carrier.items()]
    message = SimpleNamespace(headers=headers, key=b"k" * 32)
    return SimpleNamespace(message=message), span


def test_sensor_parents_each_event_on_its_header_and_makes_it_current(
    tracing: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    tracer, memory = tracing
    sensor = StreamTracingSensor(tracer=tracer)
    stream = SimpleNamespace(enable_acks=True, app=None)
    event, producer = _message_from(tracer)
    tp = TP("articles.raw", 1)
    state = sensor.on_stream_event_in(tp, 7, stream, event)  # type: ignore[arg-type]
    current = trace.get_current_span()
    assert current.get_span_context().trace_id == producer.get_span_context().trace_id
    sensor.on_stream_event_out(tp, 7, stream, event, state)  # type: ignore[arg-type]
    assert not trace.get_current_span().get_span_context().is_valid
    (process,) = [s for s in memory.get_finished_spans() if s.name == "articles.raw process"]
    assert process.parent is not None
    assert process.parent.span_id == producer.get_span_context().span_id
    assert process.kind is trace.SpanKind.CONSUMER


def test_sensor_ends_batched_spans_on_the_late_ack(
    tracing: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    """``take_events`` acks later without the sensor state; the span must still end."""
    tracer, memory = tracing
    sensor = StreamTracingSensor(tracer=tracer)
    stream = SimpleNamespace(enable_acks=False, app=None)
    tp = TP("articles.enriched", 0)
    batch = [_message_from(tracer) for _ in (3, 4)]
    for offset, (event, _) in zip((3, 4), batch, strict=True):
        sensor.on_stream_event_in(tp, offset, stream, event)  # type: ignore[arg-type]
        assert not trace.get_current_span().get_span_context().is_valid, "left attached"
    processed = [s for s in memory.get_finished_spans() if s.name.endswith("process")]
    assert processed == [], "a batched event's span stays open until its ack"
    for offset, (event, _) in zip((3, 4), batch, strict=True):
        sensor.on_stream_event_out(tp, offset, stream, event)  # type: ignore[arg-type]
    processed = [s for s in memory.get_finished_spans() if s.name.endswith("process")]
    assert len(processed) == 2
    parents = {s.parent.span_id for s in processed if s.parent is not None}
    assert parents == {producer.get_span_context().span_id for _, producer in batch}


def test_log_records_name_the_message_and_span_being_processed(
    monkeypatch: pytest.MonkeyPatch, tracing: tuple[trace.Tracer, InMemorySpanExporter]
) -> None:
    tracer, _ = tracing
    message = SimpleNamespace(topic="articles.raw", partition=1, offset=42, key=b"f" * 32)
    monkeypatch.setattr(faust, "current_event", lambda: SimpleNamespace(message=message))
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "dead-lettered", None, None)
    record.offset = 41  # a call site's own ``extra`` wins
    with tracer.start_as_current_span("articles.raw process") as span:
        assert TraceContextFilter("enrich").filter(record)
    fields = vars(record)
    assert fields["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert fields["span_id"] == format(span.get_span_context().span_id, "016x")
    assert fields["service"] == "enrich" and fields["article_id"] == "f" * 32
    assert (fields["topic"], fields["partition"], fields["offset"]) == ("articles.raw", 1, 41)


def test_log_records_outside_an_agent_carry_only_the_service() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert TraceContextFilter("api").filter(record)
    assert record.service == "api"  # type: ignore[attr-defined]
    assert not hasattr(record, "trace_id") and not hasattr(record, "topic")


def test_work_on_one_event_of_a_batch_runs_in_its_span_and_names_it(
    tracing: tuple[trace.Tracer, InMemorySpanExporter],
) -> None:
    """``working_on``: the parked consumer span is current and log lines name the message."""
    from shared.streaming import working_on

    tracer, memory = tracing
    sensor = StreamTracingSensor(tracer=tracer)
    stream = SimpleNamespace(enable_acks=False, app=SimpleNamespace(sensors=[sensor]))
    tp = TP("articles.raw", 2)
    (event, _), (other, _) = _message_from(tracer), _message_from(tracer)
    for message, offset in ((event.message, 7), (other.message, 8)):
        message.tp, message.topic, message.partition, message.offset = tp, tp.topic, 2, offset
    event.message.key = b"a" * 32
    sensor.on_stream_event_in(tp, 7, stream, event)  # type: ignore[arg-type]
    sensor.on_stream_event_in(tp, 8, stream, other)  # type: ignore[arg-type]
    parked = sensor.span_for(stream, event)  # type: ignore[arg-type]
    assert parked is not None and parked is not sensor.span_for(stream, other)  # type: ignore[arg-type]
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "enriched", None, None)
    with working_on(stream, event):
        assert trace.get_current_span() is parked
        assert TraceContextFilter("enrich").filter(record)
    assert vars(record)["span_id"] == format(parked.get_span_context().span_id, "016x")
    assert vars(record)["article_id"] == "a" * 32 and vars(record)["offset"] == 7
    assert not trace.get_current_span().get_span_context().is_valid  # detached again
    sensor.on_stream_event_out(tp, 7, stream, event)  # type: ignore[arg-type]
    assert sensor.span_for(stream, event) is None  # type: ignore[arg-type]
