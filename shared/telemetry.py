"""Logs, traces and metrics set up the same way in every service.

- Logs are JSON lines carrying the current ``trace_id``/``span_id`` and the service name, so a
  log line can be joined to the article's trace.
- Traces: an SDK ``TracerProvider`` is always installed (trace ids must exist even with no
  collector, because each indexed document stores its ``trace_id``); spans are exported over
  OTLP/HTTP in a batch processor only when ``KHABAR_OTLP_ENDPOINT`` is set. The aiokafka
  instrumentation injects W3C ``traceparent`` into produced messages; faust's
  ``setup_opentelemetry`` sensor extracts it on the consumer side (see ``shared.streaming``).
- Metrics: Prometheus client objects live in each service's module; this module only renders
  the registry.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pythonjsonlogger.json import JsonFormatter

from shared.settings import KhabarSettings

_configured: set[str] = set()


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id``, ``span_id`` and ``service`` to every log record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        record.service = self.service
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
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return provider


def instrument_kafka() -> None:
    """Inject ``traceparent`` into every produced Kafka message (once per process)."""
    if "aiokafka" in _configured:
        return
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor

    AIOKafkaInstrumentor().instrument()
    _configured.add("aiokafka")


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
