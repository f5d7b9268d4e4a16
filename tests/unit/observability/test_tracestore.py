"""The span store: what a stored span looks like, the exporter's bulk writes, the journey view."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.models import ArticleTrace, SpanLink
from shared.settings import KhabarSettings
from shared.telemetry import start_message_span
from shared.tracestore import (
    ElasticsearchSpanExporter,
    build_journey,
    find_journey_spans,
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


_Tracers = tuple[trace.Tracer, trace.Tracer, trace.Tracer]


def _article(tracers: _Tracers, article_id: str, *, own_trace: bool) -> trace.SpanContext:
    """One article from publish to the index's consumer span; returns its enriched send."""
    api, enrich, index = tracers
    with start_message_span(
        api, "ingest article", own_trace=own_trace, attributes={"khabar.article_id": article_id}
    ):
        with api.start_as_current_span("articles.raw send", kind=trace.SpanKind.PRODUCER) as sent:
            raw_context = trace.set_span_in_context(sent)
    process = {"messaging.operation.name": "process"}
    with enrich.start_as_current_span(
        "articles.raw process",
        context=raw_context,
        kind=trace.SpanKind.CONSUMER,
        attributes={**process, "messaging.destination.name": "articles.raw"},
    ):
        with enrich.start_as_current_span(
            "articles.enriched send", kind=trace.SpanKind.PRODUCER
        ) as enriched_send:
            enriched_context = trace.set_span_in_context(enriched_send)
    with index.start_as_current_span(
        "articles.enriched process",
        context=enriched_context,
        kind=trace.SpanKind.CONSUMER,
        attributes={**process, "messaging.destination.name": "articles.enriched"},
    ):
        pass
    return enriched_send.get_span_context()


def _chain(article_ids: Sequence[str] = ("a" * 32,), *, batch: bool = False) -> list[ReadableSpan]:
    """A miniature journey of articles posted in one request, in three 'services', linked as
    the real chain links them: one bulk write carries them all."""
    providers = [_provider(name) for name in ("khabar-api", "khabar-enrich", "khabar-index")]
    api, enrich, index = (provider.get_tracer("t") for provider, _ in providers)
    request = "POST /articles/batch" if batch else "POST /articles"
    with api.start_as_current_span(request, kind=trace.SpanKind.SERVER):
        sent = [_article((api, enrich, index), article, own_trace=batch) for article in article_ids]
    with index.start_as_current_span(
        "elasticsearch bulk",
        kind=trace.SpanKind.CLIENT,
        links=[trace.Link(context) for context in sent],
        attributes={"db.system": "elasticsearch", "khabar.tags": ("x", "y")},
    ):
        pass
    return [span for _, memory in providers for span in memory.get_finished_spans()]


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


class _FakeSpanIndex:
    """Answers the span searches of :func:`find_journey_spans` over stored documents."""

    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents

    async def search(self, *, query: dict[str, Any], size: int, **_: Any) -> dict[str, Any]:
        hits = [doc for doc in self.documents if _matches(doc, query)][:size]
        return {"hits": {"hits": [{"_source": doc} for doc in hits]}}


def _matches(document: dict[str, Any], query: dict[str, Any]) -> bool:
    if "bool" in query:
        return any(_matches(document, clause) for clause in query["bool"]["should"])
    if "term" in query:
        ((field, value),) = query["term"].items()
        stored = document[field]
        return value in stored if isinstance(stored, list) else value == stored
    ((field, values),) = query["terms"].items()
    return document[field] in values


def _journey_of(documents: list[dict[str, Any]], trace_id: str) -> ArticleTrace:
    index = _FakeSpanIndex(documents)
    found = asyncio.run(find_journey_spans(index, "spans", trace_id))  # type: ignore[arg-type]
    return build_journey(None, trace_id, found, store="elasticsearch")


@pytest.fixture
def batch() -> list[dict[str, Any]]:
    """The stored spans of one request that posted articles a… and b… as a batch."""
    return [span_document(span) for span in _chain(("a" * 32, "b" * 32), batch=True)]


def _named(documents: list[dict[str, Any]], name: str, article: str | None = None) -> Any:
    (document,) = [doc for doc in documents if doc["name"] == name and doc["article_id"] == article]
    return document


def test_batched_article_journey_is_its_own_trace_linked_to_the_request(
    batch: list[dict[str, Any]],
) -> None:
    mine, other = (_named(batch, "ingest article", article) for article in ("a" * 32, "b" * 32))
    request, bulk = _named(batch, "POST /articles/batch"), _named(batch, "elasticsearch bulk")
    assert mine["parent_span_id"] is None and mine["trace_id"] != other["trace_id"]
    journey = _journey_of(batch, mine["trace_id"])
    assert {span.trace_id for span in journey.spans} == {mine["trace_id"], bulk["trace_id"]}
    named = {span.attributes.get("khabar.article_id") for span in journey.spans}
    assert named == {"a" * 32, None}
    (shown_bulk,) = [span for span in journey.spans if span.name == "elasticsearch bulk"]
    assert len(bulk["links"]) == 2, "the stored bulk span links to both articles"
    assert [link.trace_id for link in shown_bulk.links] == [mine["trace_id"]]
    assert journey.links == [SpanLink(trace_id=request["trace_id"], span_id=request["span_id"])]
    assert [stage.stage for stage in journey.stages] == JOURNEY_STAGES[1:]
    assert journey.complete


def test_batch_request_and_bulk_traces_name_the_articles_they_carried(
    batch: list[dict[str, Any]],
) -> None:
    articles = {_named(batch, "ingest article", a)["trace_id"] for a in ("a" * 32, "b" * 32)}
    request = _journey_of(batch, _named(batch, "POST /articles/batch")["trace_id"])
    publishes = [span for span in request.spans if span.name == "ingest article"]
    assert {span.trace_id for span in publishes} == articles and request.links == []
    bulk = _journey_of(batch, _named(batch, "elasticsearch bulk")["trace_id"])
    assert {link.trace_id for link in bulk.links} == articles


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
