"""Spans kept in Elasticsearch, so an article's journey is viewable without a collector.

Production sends spans over OTLP to a collector and on to Jaeger. A laptop running ``khabar up``
has no collector, yet ops still need "where is this article, and why is it slow", so by default
(``KHABAR_TRACE_STORE=auto`` with no ``KHABAR_OTLP_ENDPOINT``) every service hands its finished
spans to :class:`ElasticsearchSpanExporter` behind the SDK's ``BatchSpanProcessor``: spans are
queued in memory and bulk-written by the processor's own thread, never on the event loop.

The exporter talks to Elasticsearch over plain ``httpx`` rather than the ``elasticsearch``
client on purpose: that client traces itself, so every bulk of spans would produce a new span
to export, forever.

Reading side: :func:`find_journey_spans` fetches an article's trace *and* the spans that link to
it (the index service writes a batch of articles in one bulk request, a span in its own trace
with one link per article), and :func:`build_journey` turns them into per-stage timings. Links
*from* the trace are not followed: an article submitted in a batch is its own trace, linked to
the batch request's span, and its journey names that link instead of showing the whole batch.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from elasticsearch import AsyncElasticsearch, NotFoundError
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id
from prometheus_client import Counter

from shared.models import ArticleTrace, SpanLink, StageTiming, TraceSpan, TraceStoreName
from shared.settings import KhabarSettings

log = logging.getLogger(__name__)

SPANS_EXPORTED = Counter(
    "telemetry_spans_exported_total", "Spans written to the span store", ["outcome"]
)

_KEYWORD = {"type": "keyword"}

#: Explicit mapping: spans are looked up by trace id, by a link's trace id and by article id.
SPAN_MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "trace_id": _KEYWORD,
        "span_id": _KEYWORD,
        "parent_span_id": _KEYWORD,
        "link_trace_ids": _KEYWORD,
        "article_id": _KEYWORD,
        "service": _KEYWORD,
        "name": _KEYWORD,
        "kind": _KEYWORD,
        "status": _KEYWORD,
        "start_time": {"type": "date"},
        "start_unix_nano": {"type": "long"},
        "duration_ms": {"type": "float"},
        "links": {"type": "object", "enabled": False},
        "attributes": {"type": "object", "enabled": False},
    },
}

#: Attributes that carry the article id, in order of preference.
_ARTICLE_ID_ATTRIBUTES = ("khabar.article_id", "messaging.kafka.message.key")
_MAX_SPANS = 1000
_LOG_EVERY_SECONDS = 60.0


def _attribute_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    return [str(item) for item in value]


def span_document(span: ReadableSpan) -> dict[str, Any]:
    """The stored form of one finished span."""
    context = span.get_span_context()
    assert context is not None  # noqa: S101 - an SDK span always has a context
    attributes = {key: _attribute_value(value) for key, value in (span.attributes or {}).items()}
    links = [
        {
            "trace_id": format_trace_id(link.context.trace_id),
            "span_id": format_span_id(link.context.span_id),
        }
        for link in span.links
    ]
    start = span.start_time or 0
    end = span.end_time or start
    article_id = next(
        (str(attributes[key]) for key in _ARTICLE_ID_ATTRIBUTES if key in attributes), None
    )
    return {
        "trace_id": format_trace_id(context.trace_id),
        "span_id": format_span_id(context.span_id),
        "parent_span_id": format_span_id(span.parent.span_id) if span.parent else None,
        "link_trace_ids": sorted({link["trace_id"] for link in links}),
        "article_id": article_id,
        "service": str(span.resource.attributes.get("service.name", "unknown")),
        "name": span.name,
        "kind": span.kind.name,
        "status": span.status.status_code.name,
        "start_time": datetime.fromtimestamp(start / 1e9, UTC).isoformat(),
        "start_unix_nano": start,
        "duration_ms": round((end - start) / 1e6, 3),
        "links": links,
        "attributes": attributes,
    }


def search_http_options(settings: KhabarSettings) -> dict[str, Any]:
    """httpx options carrying the same credentials and CA as :func:`shared.elastic.make_client`."""
    headers: dict[str, str] = {}
    options: dict[str, Any] = {"timeout": 10.0}
    if settings.elasticsearch_api_key:
        headers["Authorization"] = f"ApiKey {settings.elasticsearch_api_key.get_secret_value()}"
    elif settings.elasticsearch_username and settings.elasticsearch_password:
        options["auth"] = (
            settings.elasticsearch_username,
            settings.elasticsearch_password.get_secret_value(),
        )
    if settings.elasticsearch_ca_certs:
        options["verify"] = ssl.create_default_context(cafile=str(settings.elasticsearch_ca_certs))
    options["headers"] = headers
    return options


class ElasticsearchSpanExporter(SpanExporter):
    """Bulk-writes finished spans into the span index (runs on the batch processor's thread)."""

    def __init__(self, settings: KhabarSettings, client: httpx.Client | None = None) -> None:
        self.index = settings.trace_index
        self._url = settings.elasticsearch_url.rstrip("/")
        self._client = client or httpx.Client(**search_http_options(settings))
        self._index_ready = False
        self._last_warning = 0.0
        self._lock = threading.Lock()

    def _ensure_index(self) -> None:
        if self._index_ready:
            return
        response = self._client.put(
            f"{self._url}/{self.index}",
            json={
                "mappings": SPAN_MAPPINGS,
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            },
        )
        if response.status_code >= 300 and "already_exists" not in response.text:
            raise httpx.HTTPStatusError(
                f"creating {self.index}: {response.status_code} {response.text[:300]}",
                request=response.request,
                response=response,
            )
        self._index_ready = True

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """One bulk request for the batch; a failure drops the batch, never blocks a service."""
        lines: list[str] = []
        for span in spans:
            document = span_document(span)
            action = {"index": {"_index": self.index, "_id": document["span_id"]}}
            lines.append(json.dumps(action))
            lines.append(json.dumps(document, ensure_ascii=False, default=str))
        if not lines:
            return SpanExportResult.SUCCESS
        try:
            with self._lock:
                self._ensure_index()
                response = self._client.post(
                    f"{self._url}/_bulk",
                    content=("\n".join(lines) + "\n").encode(),
                    headers={"Content-Type": "application/x-ndjson"},
                )
            response.raise_for_status()
            failed = sum(
                1
                for item in response.json().get("items", [])
                if int(item.get("index", {}).get("status", 500)) >= 300
            )
        except (httpx.HTTPError, ValueError) as exc:
            SPANS_EXPORTED.labels("failed").inc(len(spans))
            self._warn("span export failed", exc)
            return SpanExportResult.FAILURE
        SPANS_EXPORTED.labels("stored").inc(len(spans) - failed)
        if failed:
            SPANS_EXPORTED.labels("rejected").inc(failed)
        return SpanExportResult.SUCCESS

    def _warn(self, message: str, exc: BaseException) -> None:
        # At most one line a minute: a down search server must not flood the logs.
        now = time.monotonic()
        if now - self._last_warning >= _LOG_EVERY_SECONDS:
            self._last_warning = now
            log.warning(message, extra={"index": self.index, "error": repr(exc)[:300]})

    def shutdown(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here; the batch processor owns the queue."""
        return True


# --------------------------------------------------------------------------- reading


async def _search_spans(
    es: AsyncElasticsearch, index: str, query: dict[str, Any]
) -> list[dict[str, Any]]:
    try:
        response = await es.search(
            index=index,
            query=query,
            size=_MAX_SPANS,
            sort=[{"start_unix_nano": "asc"}],
        )
    except NotFoundError:
        return []
    return [hit["_source"] for hit in response["hits"]["hits"]]


async def latest_trace_id(es: AsyncElasticsearch, index: str, article_id: str) -> str | None:
    """The most recent trace that carried an article (for one that never reached the index)."""
    try:
        response = await es.search(
            index=index,
            query={"term": {"article_id": article_id}},
            size=1,
            sort=[{"start_unix_nano": "desc"}],
        )
    except NotFoundError:
        return None
    hits = response["hits"]["hits"]
    return str(hits[0]["_source"]["trace_id"]) if hits else None


async def find_journey_spans(
    es: AsyncElasticsearch, index: str, trace_id: str
) -> list[dict[str, Any]]:
    """The article trace's spans plus every span of the traces that link to it (batch writes).

    Only links *to* the trace are followed: the trace's own links (to the batch request that
    brought an article) lead to spans about other articles too.
    """
    spans = await _search_spans(
        es,
        index,
        {
            "bool": {
                "should": [
                    {"term": {"trace_id": trace_id}},
                    {"term": {"link_trace_ids": trace_id}},
                ],
                "minimum_should_match": 1,
            }
        },
    )
    linking = sorted({span["trace_id"] for span in spans if span["trace_id"] != trace_id})
    if linking:
        seen = {span["span_id"] for span in spans}
        more = await _search_spans(es, index, {"terms": {"trace_id": linking}})
        spans.extend(span for span in more if span["span_id"] not in seen)
    spans.sort(key=lambda span: int(span.get("start_unix_nano", 0)))
    return spans


def _trace_span(document: dict[str, Any]) -> TraceSpan:
    return TraceSpan(
        trace_id=document["trace_id"],
        span_id=document["span_id"],
        parent_span_id=document.get("parent_span_id"),
        service=document.get("service", "unknown"),
        name=document.get("name", ""),
        kind=document.get("kind", "INTERNAL"),
        start=datetime.fromtimestamp(int(document["start_unix_nano"]) / 1e9, UTC),
        duration_ms=float(document.get("duration_ms", 0.0)),
        status=document.get("status", "UNSET"),
        links=[SpanLink(**link) for link in document.get("links", [])],
        attributes=document.get("attributes", {}),
    )


def _seen_from(span: TraceSpan, trace_id: str) -> TraceSpan:
    """A span of a linking trace keeps only its links into ``trace_id``.

    A bulk write links to every article it carried; in one article's journey the other links
    would only name other articles' traces (``khabar.batch_size`` still says how many).
    """
    if span.trace_id == trace_id:
        return span
    return span.model_copy(
        update={"links": [link for link in span.links if link.trace_id == trace_id]}
    )


def _links_out(spans: Iterable[TraceSpan], trace_id: str) -> list[SpanLink]:
    """The links from the trace's own spans to other traces, each once, in span order."""
    links = (
        link
        for span in spans
        if span.trace_id == trace_id
        for link in span.links
        if link.trace_id != trace_id
    )
    return list({(link.trace_id, link.span_id): link for link in links}.values())


def _start_ms(span: TraceSpan) -> float:
    return span.start.timestamp() * 1000


def _end_ms(span: TraceSpan) -> float:
    return _start_ms(span) + span.duration_ms


def _is_process(span: TraceSpan, service_suffix: str) -> bool:
    return (
        span.kind == "CONSUMER"
        and span.service.endswith(service_suffix)
        and span.attributes.get("messaging.operation.name") == "process"
    )


def _first(spans: Iterable[TraceSpan], name: str) -> TraceSpan | None:
    return next((span for span in spans if span.name == name), None)


def _stages(spans: list[TraceSpan], origin_ms: float) -> list[StageTiming]:
    """Per-stage timings of one article: the spans that exist decide the stages that show."""
    timings: list[StageTiming] = []

    def add(name: str, service: str, start: float, end: float) -> None:
        # both ends rounded first, so a stage ends where its rounded end is (never past the
        # journey's rounded total)
        start_ms, end_ms = round(start - origin_ms, 3), round(end - origin_ms, 3)
        timings.append(
            StageTiming(
                stage=name,
                service=service,
                start_ms=start_ms,
                duration_ms=round(max(0.0, end_ms - start_ms), 3),
            )
        )

    def add_queue(consumer: TraceSpan) -> None:
        """From the producer's send to the consumer starting on the message."""
        topic = str(consumer.attributes.get("messaging.destination.name", ""))
        sent = _first(spans, f"{topic} send")
        if sent is not None and sent.kind == "PRODUCER":
            add(f"queue:{topic}", sent.service, _start_ms(sent), _start_ms(consumer))

    server = next((span for span in spans if span.kind == "SERVER"), None)
    if server:
        add("request", server.service, _start_ms(server), _end_ms(server))
    publish = _first(spans, "ingest article")
    if publish:
        add("publish", publish.service, _start_ms(publish), _end_ms(publish))
    enrich = next((span for span in spans if _is_process(span, "-enrich")), None)
    if enrich:
        add_queue(enrich)
        add("enrich", enrich.service, _start_ms(enrich), _end_ms(enrich))
    index = next((span for span in spans if _is_process(span, "-index")), None)
    bulk = _first(spans, "elasticsearch bulk")
    if index:
        add_queue(index)
    if index and bulk:
        add("batch", index.service, _start_ms(index), _start_ms(bulk))
    if bulk:
        add("bulk write", bulk.service, _start_ms(bulk), _end_ms(bulk))
    return timings


#: The stages an article's journey has once every service of the chain stored its spans.
_WHOLE_JOURNEY = frozenset({"enrich", "bulk write"})


def build_journey(
    article_id: str | None,
    trace_id: str | None,
    documents: list[dict[str, Any]],
    *,
    store: TraceStoreName,
    jaeger_url: str | None = None,
    enrich_timings_ms: dict[str, float] | None = None,
) -> ArticleTrace:
    """The API answer for one article from its stored span documents."""
    spans = [_trace_span(document) for document in documents]
    if trace_id:
        spans = [_seen_from(span, trace_id) for span in spans]
    spans.sort(key=_start_ms)
    origin = _start_ms(spans[0]) if spans else 0.0
    link = f"{jaeger_url.rstrip('/')}/trace/{trace_id}" if jaeger_url and trace_id else None
    stages = _stages(spans, origin)
    return ArticleTrace(
        article_id=article_id,
        trace_id=trace_id,
        store=store,
        jaeger_url=link,
        services=sorted({span.service for span in spans}),
        complete=_WHOLE_JOURNEY <= {stage.stage for stage in stages},
        total_ms=round(max(_end_ms(span) for span in spans) - origin, 3) if spans else None,
        stages=stages,
        spans=spans,
        links=_links_out(spans, trace_id) if trace_id else [],
        enrich_timings_ms=enrich_timings_ms or {},
    )
