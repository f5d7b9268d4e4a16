"""Logs, traces and metrics set up the same way in every service.

- Logs are JSON lines carrying the current ``trace_id``/``span_id`` and the service name, so a
  log line can be joined to the article's trace.
- Traces: an SDK ``TracerProvider`` is always installed (trace ids must exist even with no
  collector, because each indexed document stores its ``trace_id``). A batch processor exports
  spans off the hot path to the store ``KHABAR_TRACE_STORE`` names: OTLP/HTTP to a collector
  (``auto`` when ``KHABAR_OTLP_ENDPOINT`` is set), the Elasticsearch span index the API reads
  (``auto`` without an endpoint, see ``shared.tracestore``), or nowhere. The aiokafka
  instrumentation injects W3C ``traceparent`` into produced messages; faust's
  ``setup_opentelemetry`` sensor extracts it on the consumer side (see ``shared.streaming``).
  The Elasticsearch client traces its own requests, so an API request's search shows up as a
  child span of the request's server span.
- Metrics: Prometheus client objects live in each service's module; this module only renders
  the registry.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any

import faust
from faust.contrib.opentelemetry import OpenTelemetrySensor
from faust.types import TP, EventT, StreamT
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.util.types import Attributes
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import ConfigurationError
from shared.metrics import RequestMetrics, StatusRecorder, register_stream_metrics
from shared.models import TraceStoreName
from shared.settings import KhabarSettings

_configured: set[str] = set()
#: Root spans of health checks (the Elasticsearch client's ``ping``), never worth storing.
_PROBE_SPANS = frozenset({"ping"})


#: The event being worked on when faust does not know it (events taken in batches).
CURRENT_EVENT: ContextVar[Any] = ContextVar("khabar_current_event", default=None)


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id``, ``span_id``, ``service`` and the message being processed to records.

    Inside a faust agent the current event names the message, so every log line an agent (or
    anything it calls) writes carries ``topic``/``partition``/``offset`` and the ``article_id``
    (the message key) without each call site passing them.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        record.service = self.service
        event = CURRENT_EVENT.get() or faust.current_event()
        if event is not None:
            message = event.message
            key = message.key.decode("utf-8", "replace") if isinstance(message.key, bytes) else None
            for name, value in (
                ("topic", message.topic),
                ("partition", message.partition),
                ("offset", message.offset),
                ("article_id", key),
            ):
                if value is not None and not hasattr(record, name):
                    setattr(record, name, value)
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stderr for the whole process, with trace ids."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(TraceContextFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "elastic_transport", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


class SkipProbes(Sampler):
    """Drops readiness pings as roots: a probe every few seconds would bury the articles."""

    def __init__(self, delegate: Sampler) -> None:
        self.delegate = delegate

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: trace.SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[trace.Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        """Drop root ``ping`` spans; everything else as the delegate decides."""
        if name in _PROBE_SPANS:
            return SamplingResult(Decision.DROP)
        return self.delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        """Shown in SDK diagnostics."""
        return f"SkipProbes({self.delegate.get_description()})"


def configure_tracing(service: str, settings: KhabarSettings) -> TracerProvider:
    """Install the SDK tracer provider once per process; export when an endpoint is set."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": f"khabar-{service}",
                "service.namespace": "khabar",
                "deployment.environment": settings.environment,
            }
        ),
        sampler=ParentBased(SkipProbes(TraceIdRatioBased(settings.trace_sample_ratio))),
    )
    exporter = span_exporter(settings)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def trace_store(settings: KhabarSettings) -> TraceStoreName:
    """Where this process's spans go, with ``auto`` resolved."""
    if settings.trace_store == "auto":
        return "otlp" if settings.otlp_endpoint else "elasticsearch"
    return settings.trace_store


def span_exporter(settings: KhabarSettings) -> SpanExporter | None:
    """The exporter for the configured trace store (None: spans are only kept in memory)."""
    store = trace_store(settings)
    if store == "otlp":
        if not settings.otlp_endpoint:
            raise ConfigurationError("KHABAR_TRACE_STORE=otlp needs KHABAR_OTLP_ENDPOINT")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=settings.otlp_endpoint.rstrip("/") + "/v1/traces")
    if store == "elasticsearch":
        from shared.tracestore import ElasticsearchSpanExporter

        return ElasticsearchSpanExporter(settings)
    return None


def instrument_kafka() -> None:
    """Inject ``traceparent`` into every produced Kafka message (once per process)."""
    if "aiokafka" in _configured:
        return
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor

    AIOKafkaInstrumentor().instrument()
    _configured.add("aiokafka")


def links_to_current() -> list[trace.Link]:
    """A link to the current span, or none outside a span (a drop-folder poll has none)."""
    context = trace.get_current_span().get_span_context()
    return [trace.Link(context)] if context.is_valid else []


def start_message_span(
    tracer: trace.Tracer, name: str, *, own_trace: bool, attributes: Attributes = None
) -> AbstractContextManager[trace.Span]:
    """A message's PRODUCER ("create") span, current while the message is sent.

    Whatever is current inside it (the Kafka instrumentation's ``send`` span, whose
    ``traceparent`` goes into the record's headers) joins the trace it starts, so it decides
    which trace the consumers continue.

    ``own_trace=False``: a child of the current span. For work about this one message only (a
    single ``POST /articles``), whose request then belongs to the message's trace.

    ``own_trace=True``: the root of a new trace with a *link* to the current span, as the
    OpenTelemetry messaging conventions model a batch: the span that brought many messages
    (a batch request, a file, a feed read) is no parent of any of them, or every message's
    journey would live in one trace and each article's trace would show the whole batch. Each
    new root is sampled on its own.
    """
    if not own_trace:
        return tracer.start_as_current_span(
            name, kind=trace.SpanKind.PRODUCER, attributes=attributes
        )
    return tracer.start_as_current_span(
        name,
        context=Context(),
        kind=trace.SpanKind.PRODUCER,
        links=links_to_current(),
        attributes=attributes,
    )


#: Paths never traced: probes and scrapes would bury the requests worth looking at.
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ServerSpanMiddleware:
    """One SERVER span per HTTP request, named ``METHOD /route/template`` (plain ASGI).

    Replaces the contrib FastAPI instrumentation, which per request walked every route to name
    the span, built a dozen URL attributes through generic helpers and wrapped the app in a
    second error middleware: about a third of the gateway's own time. Here the incoming
    ``traceparent`` is honoured, the span is current while the app runs (so the search
    client's spans and log lines join it), the route template comes from the route Starlette
    already matched, a 5xx or an exception marks the span as an error, and the attribute names
    are those the contrib instrumentation wrote, so stored traces read the same.
    """

    def __init__(
        self,
        app: ASGIApp,
        excluded_paths: Iterable[str] = UNTRACED_PATHS,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.app = app
        self.excluded = frozenset(excluded_paths)
        self.tracer = tracer or trace.get_tracer("khabar.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request inside its span."""
        if scope["type"] != "http" or scope["path"] in self.excluded:
            await self.app(scope, receive, send)
            return
        carrier = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        method: str = scope["method"]
        span = self.tracer.start_span(
            method,
            context=propagate.extract(carrier),
            kind=trace.SpanKind.SERVER,
            attributes=_request_attributes(scope, carrier),
        )
        token = otel_context.attach(trace.set_span_in_context(span))
        recorder = StatusRecorder(send)
        try:
            await self.app(scope, receive, recorder)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(trace.StatusCode.ERROR, type(exc).__name__)
            recorder.status = recorder.status or 500
            raise
        finally:
            status = recorder.status
            template = getattr(scope.get("route"), "path", None)
            if template:
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
            if status:
                span.set_attribute("http.status_code", status)
                if status >= 500:
                    span.set_status(trace.StatusCode.ERROR)
            otel_context.detach(token)
            span.end()


def _request_attributes(scope: Scope, headers: dict[str, str]) -> dict[str, Any]:
    """The request's span attributes (the names the contrib ASGI instrumentation used)."""
    scheme = scope.get("scheme", "http")
    server = scope.get("server")
    host = headers.get("host") or (f"{server[0]}:{server[1]}" if server else "")
    query = scope.get("query_string", b"")
    path = scope.get("root_path", "") + scope["path"]
    attributes: dict[str, Any] = {
        "http.method": scope["method"],
        "http.scheme": scheme,
        "http.flavor": scope.get("http_version", "1.1"),
        "http.host": host,
        "http.server_name": host.rpartition(":")[0] or host,
        "http.target": path,
        "http.url": f"{scheme}://{host}{path}" + (f"?{query.decode('latin-1')}" if query else ""),
    }
    agent = headers.get("user-agent")
    if agent:
        attributes["http.user_agent"] = agent
    client = scope.get("client")
    if client:
        attributes["net.peer.ip"] = client[0]
        attributes["net.peer.port"] = client[1]
    return attributes


def fastapi_options() -> dict[str, Any]:
    """``FastAPI(...)`` keyword arguments for an app :func:`instrument_api` will trace.

    Recent FastAPI releases trace requests themselves once an SDK tracer provider is installed
    (this module always installs one); that would be a second SERVER span per request, so it is
    turned off where it exists.
    """
    from fastapi import FastAPI

    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def instrument_api(app: Any) -> None:
    """Trace every API request (a SERVER span; probes and scrapes are left out) and count it.

    Build the app with :func:`fastapi_options`, and call this after adding middleware that
    should run inside the span (it wraps everything added before it).
    """
    app.add_middleware(RequestMetrics)
    app.add_middleware(ServerSpanMiddleware)


class StreamTracingSensor(OpenTelemetrySensor):
    """faust's ``{topic} process`` span, also for events consumed in batches.

    ``Stream.take_events`` (the index service) turns acks off and acks each event later with
    ``Stream.ack``, which calls the sensor *without* the state holding the span: faust's sensor
    would then never end the span and leave its context attached to the background task that
    fills the buffer. Here such spans are detached at once (the agent runs in another task, so
    nothing could nest under them anyway) and ended on the later ack, so the index CONSUMER span
    covers the article's wait in the batch and the bulk write that follows.
    """

    _MAX_PENDING = 50_000

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        super().__init__(tracer=tracer)
        self._pending: dict[tuple[int, TP, int], Any] = {}

    def on_stream_event_in(
        self, tp: TP, offset: int, stream: StreamT[Any], event: EventT[Any]
    ) -> dict[Any, Any] | None:
        """Open the span; for a batching stream, park it until the event's ack."""
        state = super().on_stream_event_in(tp, offset, stream, event)
        if state is None or stream.enable_acks:
            return state
        otel_context.detach(state.pop("token"))
        if len(self._pending) >= self._MAX_PENDING:  # events dropped by a rebalance
            self._pending.pop(next(iter(self._pending))).end()
        self._pending[(id(stream), tp, offset)] = state["span"]
        return state

    def span_for(self, stream: StreamT[Any], event: EventT[Any]) -> trace.Span | None:
        """The parked span of a batched event (``None`` once acked, or if never traced)."""
        message = event.message
        return self._pending.get((id(stream), message.tp, message.offset))

    def on_stream_event_out(
        self,
        tp: TP,
        offset: int,
        stream: StreamT[Any],
        event: EventT[Any],
        state: dict[Any, Any] | None = None,
    ) -> None:
        """End the span: the parked one of a batched event, or faust's own."""
        span = self._pending.pop((id(stream), tp, offset), None)
        if span is not None:
            span.end()
            return
        super().on_stream_event_out(tp, offset, stream, event, state)


def instrument_streams(app: faust.App, service: str) -> StreamTracingSensor:
    """Continue each consumed message's trace in its agent; export lag and message counts."""
    sensor = StreamTracingSensor()
    app.sensors.add(sensor)
    register_stream_metrics(app, service)
    return sensor


def configure_telemetry(service: str, settings: KhabarSettings) -> None:
    """Logs, traces and Kafka propagation for one service process."""
    configure_logging(service, settings.log_level)
    configure_tracing(service, settings)
    instrument_kafka()


def current_trace_id() -> str | None:
    """The current trace id as 32 hex characters, or None outside a span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def render_metrics() -> tuple[bytes, str]:
    """The process's Prometheus metrics and their content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def shutdown_tracing() -> None:
    """Flush pending spans (called on graceful shutdown)."""
    provider: Any = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()
