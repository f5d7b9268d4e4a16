"""Prometheus metrics every streaming service and the API get without writing them.

Each service module declares the metrics of its own work (``enrich_articles_total``,
``index_bulk_seconds`` …). What is the same everywhere lives here, named with the service's
prefix so a dashboard can tell the stages apart:

- ``<service>_consumer_lag{topic,partition}``, ``<service>_messages_received_total``,
  ``<service>_messages_sent_total``, ``<service>_send_errors_total`` and
  ``<service>_rebalances_total``, read at scrape time from faust's own monitor (the offsets it
  read and the log end offsets the fetcher saw), so nothing is counted twice on the hot path.
  Locally the broker's end offsets run a batch ahead (see the README), so lag is approximate.
- ``api_requests_total{method,route,status}`` and ``api_request_seconds{route}`` from a plain
  ASGI middleware, labelled by route template so ids never become label values.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import faust
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_registered: dict[str, Any] = {}


class StreamMetricsCollector(Collector):
    """Consumer lag and message counts of one faust app, computed when Prometheus scrapes."""

    def __init__(self, app: faust.App, service: str) -> None:
        self.app = app
        self.service = service

    def _assigned(self) -> set[Any] | None:
        try:
            return set(self.app.consumer.assignment())
        except Exception:  # noqa: BLE001 - before the consumer starts there is no assignment
            return None

    def collect(self) -> Iterator[Metric]:
        """One sample per assigned partition, plus the worker's totals."""
        prefix = self.service
        monitor = self.app.monitor
        lag = GaugeMetricFamily(
            f"{prefix}_consumer_lag",
            "Messages in the partition not yet read by this worker",
            labels=["topic", "partition"],
        )
        assigned = self._assigned()
        for tp, end in dict(monitor.tp_end_offsets).items():
            if end is None or (assigned is not None and tp not in assigned):
                continue
            read = monitor.tp_read_offsets.get(tp)
            position = read + 1 if read is not None else monitor.tp_committed_offsets.get(tp)
            if position is not None:
                lag.add_metric([tp.topic, str(tp.partition)], max(0, end - position))
        yield lag
        for name, documentation, value in (
            ("messages_received", "Messages consumed", monitor.messages_received_total),
            ("messages_sent", "Messages produced", monitor.messages_sent),
            ("send_errors", "Messages the producer failed to send", monitor.send_errors),
            ("rebalances", "Consumer group rebalances", monitor.rebalances),
        ):
            yield CounterMetricFamily(f"{prefix}_{name}", documentation, value=value)


def register_stream_metrics(app: faust.App, service: str) -> StreamMetricsCollector:
    """Export the app's lag and counts (once per service name and process)."""
    collector = _registered.get(f"stream:{service}")
    if isinstance(collector, StreamMetricsCollector):
        collector.app = app
        return collector
    collector = StreamMetricsCollector(app, service)
    REGISTRY.register(collector)
    _registered[f"stream:{service}"] = collector
    return collector


class StatusRecorder:
    """An ASGI ``send`` that passes messages on and remembers the response's status code."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send, default: int = 0) -> None:
        self.send = send
        self.status = default

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)


class RequestMetrics:
    """Counts and times HTTP requests by route template (ASGI middleware)."""

    def __init__(self, app: ASGIApp, prefix: str = "api") -> None:
        self.app = app
        self.requests, self.seconds = request_metrics(prefix)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; record its route, status and duration."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        recorder = StatusRecorder(send, default=500)
        try:
            await self.app(scope, receive, recorder)
        finally:
            status = recorder.status
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.seconds.labels(route).observe(time.perf_counter() - started)


def request_metrics(prefix: str) -> tuple[Counter, Histogram]:
    """One pair of metric objects per prefix and process (apps may be created many times)."""
    existing = _registered.get(f"http:{prefix}")
    if existing is None:
        existing = (
            Counter(
                f"{prefix}_requests_total",
                "HTTP requests answered",
                ["method", "route", "status"],
            ),
            Histogram(
                f"{prefix}_request_seconds",
                "Time to answer an HTTP request",
                ["route"],
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
        )
        _registered[f"http:{prefix}"] = existing
    requests, seconds = existing
    return requests, seconds
