"""The span store: what a stored span looks like, the exporter's bulk writes, the journey view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.settings import KhabarSettings
from shared.tracestore import (
    ElasticsearchSpanExporter,
    build_journey,
    search_http_options,
    span_document,
)

#: The stages of a posted article's journey, in order, when every span was stored.
JOURNEY_STAGES = [
    "request",
    "publish",
    "queue:articles.raw",
    "enrich",
    "queue:articles.enriched",
    "batch",
    "bulk write",
]


def _provider(service: str) -> tuple[TracerProvider, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return provider, memory


def _chain() -> list[ReadableSpan]:
    """A miniature article journey in three 'services', linked as the real chain links them."""
    api, api_spans = _provider("khabar-api")
    enrich, enrich_spans = _provider("khabar-enrich")
    index, index_spans = _provider("khabar-index")
    with api.get_tracer("t").start_as_current_span("POST /articles", kind=trace.SpanKind.SERVER):
        with api.get_tracer("t").start_as_current_span(
            "ingest article",
            kind=trace.SpanKind.PRODUCER,
            attributes={"khabar.article_id": "a" * 32},
        ):
            with api.get_tracer("t").start_as_current_span(
                "articles.raw send", kind=trace.SpanKind.PRODUCER
            ) as raw_send:
                raw_context = trace.set_span_in_context(raw_send)
    process = {"messaging.operation.name": "process"}
    with enrich.get_tracer("t").start_as_current_span(
        "articles.raw process",
        context=raw_context,
        kind=trace.SpanKind.CONSUMER,
        attributes={**process, "messaging.destination.name": "articles.raw"},
    ):
        with enrich.get_tracer("t").start_as_current_span(
            "articles.enriched send", kind=trace.SpanKind.PRODUCER
        ) as enriched_send:
            enriched_context = trace.set_span_in_context(enriched_send)
    with index.get_tracer("t").start_as_current_span(
        "articles.enriched process",
        context=enriched_context,
        kind=trace.SpanKind.CONSUMER,
        attributes={**process, "messaging.destination.name": "articles.enriched"},
    ):
        pass
    with index.get_tracer("t").start_as_current_span(
        "elasticsearch bulk",
        kind=trace.SpanKind.CLIENT,
        links=[trace.Link(enriched_send.get_span_context())],
        attributes={"db.system": "elasticsearch", "khabar.tags": ("x", "y")},
    ):
        pass
    return [
        *api_spans.get_finished_spans(),
        *enrich_spans.get_finished_spans(),
        *index_spans.get_finished_spans(),
    ]


@pytest.fixture
def chain() -> list[dict[str, Any]]:
    return [span_document(span) for span in _chain()]


def test_span_document_keeps_ids_parents_links_and_service(chain: list[dict[str, Any]]) -> None:
    by_name = {doc["name"]: doc for doc in chain}
    publish = by_name["ingest article"]
    assert publish["service"] == "khabar-api" and publish["kind"] == "PRODUCER"
    assert publish["article_id"] == "a" * 32
    assert publish["parent_span_id"] == by_name["POST /articles"]["span_id"]
    assert by_name["POST /articles"]["parent_span_id"] is None
    enrich = by_name["articles.raw process"]
    assert enrich["trace_id"] == publish["trace_id"]
    assert enrich["parent_span_id"] == by_name["articles.raw send"]["span_id"]
    bulk = by_name["elasticsearch bulk"]
    assert bulk["trace_id"] != publish["trace_id"]
    assert bulk["link_trace_ids"] == [publish["trace_id"]]
    assert bulk["links"] == [
        {"trace_id": publish["trace_id"], "span_id": by_name["articles.enriched send"]["span_id"]}
    ]
    assert bulk["attributes"]["khabar.tags"] == ["x", "y"]
    assert all(len(doc["trace_id"]) == 32 and len(doc["span_id"]) == 16 for doc in chain)
    assert all(doc["duration_ms"] >= 0 for doc in chain)
    json.dumps(chain)  # the documents go over the wire as JSON


def test_journey_orders_stages_along_the_chain(chain: list[dict[str, Any]]) -> None:
    trace_id = next(doc["trace_id"] for doc in chain if doc["name"] == "ingest article")
    journey = build_journey(
        "a" * 32,
        trace_id,
        list(reversed(chain)),
        store="elasticsearch",
        jaeger_url="http://jaeger:16686/",
        enrich_timings_ms={"language": 1.5},
    )
    assert [stage.stage for stage in journey.stages] == JOURNEY_STAGES
    assert journey.services == ["khabar-api", "khabar-enrich", "khabar-index"]
    assert journey.jaeger_url == f"http://jaeger:16686/trace/{trace_id}"
    assert [span.start for span in journey.spans] == sorted(span.start for span in journey.spans)
    assert journey.stages[0].start_ms == 0
    assert journey.total_ms is not None
    # in the answer's unit (thousandths of a ms): no stage ends after the journey
    assert journey.total_ms >= max(round(s.start_ms + s.duration_ms, 3) for s in journey.stages)
    assert journey.enrich_timings_ms == {"language": 1.5}
    assert journey.complete


def test_journey_is_complete_only_once_enrich_and_index_spans_are_stored(
    chain: list[dict[str, Any]],
) -> None:
    without_index = [doc for doc in chain if not doc["service"].endswith("-index")]
    journey = build_journey("a" * 32, None, without_index, store="elasticsearch")
    assert journey.stages and not journey.complete


def test_journey_without_spans_still_names_the_trace() -> None:
    journey = build_journey("b" * 32, "c" * 32, [], store="otlp", jaeger_url="http://j")
    assert journey.spans == [] and journey.stages == [] and journey.total_ms is None
    assert not journey.complete
    assert journey.jaeger_url == f"http://j/trace/{'c' * 32}"


class _FakeSearchServer:
    """Records requests; answers like Elasticsearch (or fails, when told to)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.down = False
        self.reject_items = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.method == "PUT":
            if sum(r.method == "PUT" for r in self.requests) > 1:
                return httpx.Response(400, json={"error": {"type": "resource_already_exists"}})
            return httpx.Response(200, json={"acknowledged": True})
        lines = request.content.decode().splitlines()
        items = [
            {"index": {"status": 400 if n < self.reject_items else 201}}
            for n in range(len(lines) // 2)
        ]
        return httpx.Response(200, json={"errors": bool(self.reject_items), "items": items})


@pytest.fixture
def server() -> Iterator[_FakeSearchServer]:
    yield _FakeSearchServer()


def _exporter(server: _FakeSearchServer) -> ElasticsearchSpanExporter:
    settings = KhabarSettings(elasticsearch_url="http://search:9200/", trace_index="spans-test")
    client = httpx.Client(transport=httpx.MockTransport(server.handle))
    return ElasticsearchSpanExporter(settings, client=client)


def test_exporter_creates_the_index_once_and_bulk_writes(server: _FakeSearchServer) -> None:
    exporter = _exporter(server)
    spans = _chain()
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert exporter.export(spans[:2]) is SpanExportResult.SUCCESS
    methods = [(r.method, r.url.path) for r in server.requests]
    assert methods == [("PUT", "/spans-test"), ("POST", "/_bulk"), ("POST", "/_bulk")]
    mapping = json.loads(server.requests[0].content)["mappings"]
    assert mapping["dynamic"] is False
    assert mapping["properties"]["link_trace_ids"] == {"type": "keyword"}
    lines = server.requests[1].content.decode().splitlines()
    assert len(lines) == 2 * len(spans)
    actions, documents = lines[::2], [json.loads(line) for line in lines[1::2]]
    assert all(json.loads(a)["index"]["_index"] == "spans-test" for a in actions)
    assert {d["name"] for d in documents} == {s.name for s in spans}
    assert server.requests[1].headers["content-type"] == "application/x-ndjson"


def test_exporter_reports_failure_without_raising(server: _FakeSearchServer) -> None:
    exporter = _exporter(server)
    server.down = True
    assert exporter.export(_chain()) is SpanExportResult.FAILURE
    server.down = False
    assert exporter.export(_chain()) is SpanExportResult.SUCCESS
    assert exporter.export([]) is SpanExportResult.SUCCESS


def test_exporter_uses_the_search_server_credentials() -> None:
    with_key = search_http_options(KhabarSettings(elasticsearch_api_key="k3y"))
    assert with_key["headers"] == {"Authorization": "ApiKey k3y"}
    with_user = search_http_options(
        KhabarSettings(elasticsearch_username="ops", elasticsearch_password="pw")
    )
    assert with_user["auth"] == ("ops", "pw") and "Authorization" not in with_user["headers"]
    assert "verify" not in with_user
