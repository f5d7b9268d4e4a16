"""One trace per article across the real chain, read back from the span store through the API.

The services export spans with a batch processor (a few seconds' delay) into the Elasticsearch
span index; the tests poll the API until the whole journey is there, then check its structure:
who is whose parent across the Kafka hops, the batched bulk write's link to the article, and
the article's own link to the batch request or file read that brought it with others.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.localstack import LocalStack
from shared.ids import article_id
from tests.integration.conftest import wait_for
from tests.unit.observability.promql import family, metric_names
from tests.unit.observability.test_dashboards import DASHBOARDS
from tests.unit.observability.test_tracestore import JOURNEY_STAGES

pytestmark = pytest.mark.integration

SPAN_WAIT_SECONDS = 90.0


def _journey_complete(api: httpx.Client, path: str, publisher: str) -> dict[str, Any] | None:
    """The trace answer once every service has exported its spans of the journey.

    Each service exports on its own schedule, so the index's spans can be stored before the
    enrich or ingest spans they descend from.
    """
    response = api.get(path)
    if response.status_code != 200:
        return None
    journey: dict[str, Any] = response.json()
    stored = {(span["service"], span["name"]) for span in journey["spans"]}
    expected = {
        (publisher, "ingest article"),
        (publisher, "articles.raw send"),
        ("khabar-enrich", "articles.raw process"),
        ("khabar-enrich", "articles.enriched send"),
        ("khabar-index", "articles.enriched process"),
        ("khabar-index", "elasticsearch bulk"),
    }
    return journey if expected <= stored else None


def _one(spans: list[dict[str, Any]], service: str, name: str) -> dict[str, Any]:
    matches = [span for span in spans if span["service"] == service and span["name"] == name]
    assert len(matches) == 1, (service, name, [(s["service"], s["name"]) for s in spans])
    return matches[0]


def _assert_chain_from_publish(
    spans: list[dict[str, Any]], publisher: str, trace_id: str
) -> dict[str, Any]:
    """publish → raw send → enrich process → enriched send → index process; returns the root."""
    in_trace = [span for span in spans if span["trace_id"] == trace_id]
    publish = _one(in_trace, publisher, "ingest article")
    raw_send = _one(in_trace, publisher, "articles.raw send")
    enrich = _one(in_trace, "khabar-enrich", "articles.raw process")
    enriched_send = _one(in_trace, "khabar-enrich", "articles.enriched send")
    index = _one(in_trace, "khabar-index", "articles.enriched process")
    assert raw_send["parent_span_id"] == publish["span_id"]
    assert enrich["kind"] == "CONSUMER" and enrich["parent_span_id"] == raw_send["span_id"]
    assert enriched_send["kind"] == "PRODUCER"
    assert enriched_send["parent_span_id"] == enrich["span_id"]
    assert index["kind"] == "CONSUMER" and index["parent_span_id"] == enriched_send["span_id"]

    bulk = _one(spans, "khabar-index", "elasticsearch bulk")
    assert bulk["trace_id"] != trace_id, "a batch write is its own trace, linked to its articles"
    assert {"trace_id": trace_id, "span_id": enriched_send["span_id"]} in bulk["links"]
    es_children = [span for span in spans if span["parent_span_id"] == bulk["span_id"]]
    assert any(span["attributes"].get("db.system") == "elasticsearch" for span in es_children)
    return publish


def test_posted_article_is_one_trace_from_api_to_the_bulk_write(api: httpx.Client) -> None:
    marker = uuid.uuid4().hex[:12]
    response = api.post(
        "/articles",
        json={
            "title": f"Pakistan and Japan sign a fisheries accord {marker}",
            "body": f"TOKYO, 5 May 2025: Pakistan and Japan signed a fisheries accord {marker}.",
        },
    )
    assert response.status_code == 202, response.text
    posted = response.json()["id"]

    journey = wait_for(
        lambda: _journey_complete(api, f"/articles/{posted}/trace", "khabar-api"),
        timeout=SPAN_WAIT_SECONDS,
    )
    document = api.get(f"/articles/{posted}").json()
    trace_id = document["trace_id"]
    assert journey["trace_id"] == trace_id and journey["store"] == "elasticsearch"
    assert {"khabar-api", "khabar-enrich", "khabar-index"} <= set(journey["services"])

    spans = journey["spans"]
    publish = _assert_chain_from_publish(spans, "khabar-api", trace_id)
    request = _one(spans, "khabar-api", "POST /articles")
    assert request["kind"] == "SERVER" and request["parent_span_id"] is None
    assert publish["parent_span_id"] == request["span_id"]
    assert publish["attributes"]["khabar.article_id"] == posted

    stages = [stage["stage"] for stage in journey["stages"]]
    assert stages == JOURNEY_STAGES
    assert all(stage["duration_ms"] >= 0 for stage in journey["stages"])
    assert journey["total_ms"] >= max(s["start_ms"] + s["duration_ms"] for s in journey["stages"])
    assert journey["enrich_timings_ms"] == document["timings_ms"]


#: Articles in one ``POST /articles/batch``: enough that the batch spans several bulk writes.
BATCH_ARTICLES = 60
_ARTICLE_ID_ATTRIBUTES = ("khabar.article_id", "messaging.kafka.message.key")


def _traceparent() -> tuple[str, str, dict[str, str]]:
    """A caller's trace and span id, and the header that makes the request join them."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, {"traceparent": f"00-{trace_id}-{span_id}-01"}


def _stored_span(api: httpx.Client, trace_id: str, name: str) -> dict[str, Any]:
    """The span called ``name`` of a stored trace, once its service has exported it."""

    def found() -> dict[str, Any] | None:
        answer = api.get(f"/traces/{trace_id}")
        if answer.status_code != 200:
            return None
        spans = answer.json()["spans"]
        return next((s for s in spans if s["trace_id"] == trace_id and s["name"] == name), None)

    span: dict[str, Any] = wait_for(found, timeout=SPAN_WAIT_SECONDS)
    return span


def _named_articles(spans: list[dict[str, Any]]) -> set[str]:
    return {
        str(span["attributes"][key])
        for span in spans
        for key in _ARTICLE_ID_ATTRIBUTES
        if key in span["attributes"]
    }


def test_batched_article_is_a_trace_of_its_own_linked_to_the_batch_request(
    api: httpx.Client,
) -> None:
    marker = uuid.uuid4().hex[:12]
    batch = [
        {
            "title": f"Gwadar port receives cargo ship {n} {marker}",
            "body": f"GWADAR, 3 June 2025: Gwadar port received cargo ship number {n} {marker}.",
        }
        for n in range(BATCH_ARTICLES)
    ]
    request_trace, caller_span, headers = _traceparent()
    response = api.post("/articles/batch", json=batch, headers=headers)
    assert response.status_code == 202, response.text
    ids: list[str] = response.json()["ids"]
    assert len(set(ids)) == BATCH_ARTICLES
    chosen = ids[BATCH_ARTICLES // 2]

    journey = wait_for(
        lambda: _journey_complete(api, f"/articles/{chosen}/trace", "khabar-api"),
        timeout=SPAN_WAIT_SECONDS,
    )
    trace_id = api.get(f"/articles/{chosen}").json()["trace_id"]
    assert journey["trace_id"] == trace_id and journey["complete"]
    assert {"khabar-api", "khabar-enrich", "khabar-index"} <= set(journey["services"])
    spans = journey["spans"]
    publish = _assert_chain_from_publish(spans, "khabar-api", trace_id)
    assert publish["parent_span_id"] is None, "the article's trace starts at its own publish"
    assert publish["attributes"]["khabar.article_id"] == chosen

    # Its own spans are one trace; the only other is the batched bulk write that links to it.
    (bulk,) = [span for span in spans if span["name"] == "elasticsearch bulk"]
    assert {span["trace_id"] for span in spans} == {trace_id, bulk["trace_id"]}
    assert _named_articles(spans) == {chosen}
    seen_traces = {link["trace_id"] for span in spans for link in span["links"]}
    assert seen_traces == {trace_id, request_trace}, "no other article of the batch shows"
    assert [stage["stage"] for stage in journey["stages"]] == JOURNEY_STAGES[1:]

    request = _stored_span(api, request_trace, "POST /articles/batch")
    assert request["kind"] == "SERVER" and request["parent_span_id"] == caller_span
    to_request = [{"trace_id": request_trace, "span_id": request["span_id"]}]
    assert publish["links"] == to_request
    assert journey["links"] == to_request


def test_drop_folder_articles_are_traces_of_their_own_linked_to_the_file_read(
    stack: LocalStack, api: httpx.Client
) -> None:
    marker = uuid.uuid4().hex[:12]
    lines = [
        {
            "title": f"भारत और नेपाल के बीच नई रेल सेवा {n} {marker}",
            "body": f"काठमांडू, 9 अप्रैल 2025: भारत और नेपाल के बीच नई रेल सेवा {n} शुरू हुई {marker}।",
            "url": f"https://example.com/news/tracing-{marker}-{n}",
        }
        for n in range(2)
    ]
    (stack.directory / "inbox" / f"trace-{marker}.jsonl").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    expected = [article_id(url=x["url"], title=x["title"], body=x["body"]) for x in lines]

    journey = wait_for(
        lambda: _journey_complete(api, f"/articles/{expected[0]}/trace", "khabar-ingest"),
        timeout=SPAN_WAIT_SECONDS,
    )
    spans = journey["spans"]
    publish = _assert_chain_from_publish(spans, "khabar-ingest", journey["trace_id"])
    assert publish["parent_span_id"] is None, "a file's article starts its own trace"
    assert {"khabar-ingest", "khabar-enrich", "khabar-index"} <= set(journey["services"])
    assert _named_articles(spans) == {expected[0]}

    (link,) = journey["links"]
    assert publish["links"] == [link]
    read = _stored_span(api, link["trace_id"], "ingest file")
    assert read["span_id"] == link["span_id"] and read["attributes"]["khabar.batch_size"] == 2

    def carried() -> dict[str, str] | None:
        """Article id → trace of each publish the file's trace answer shows (all exported)."""
        stored = api.get(f"/traces/{link['trace_id']}").json()["spans"]
        found = {
            span["attributes"]["khabar.article_id"]: span["trace_id"]
            for span in stored
            if span["name"] == "ingest article"
        }
        return found if found.keys() >= set(expected) else None

    publishes = wait_for(carried, timeout=SPAN_WAIT_SECONDS)
    assert publishes.keys() == set(expected), "the file's trace names its two articles"
    assert len(set(publishes.values()) | {link["trace_id"]}) == 3, "three traces"


def test_api_read_is_traced_with_the_search_call_as_a_child(api: httpx.Client) -> None:
    trace_id = secrets.token_hex(16)
    caller_span = secrets.token_hex(8)
    response = api.get(
        "/search",
        params={"q": "Pakistan"},
        headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
    )
    assert response.status_code == 200, response.text

    def stored() -> dict[str, Any] | None:
        answer = api.get(f"/traces/{trace_id}")
        if answer.status_code != 200:
            return None
        found: dict[str, Any] = answer.json()
        kinds = {span["kind"] for span in found["spans"]}
        searched = any(s["attributes"].get("db.system") for s in found["spans"])
        return found if "SERVER" in kinds and searched else None

    spans = wait_for(stored, timeout=SPAN_WAIT_SECONDS)["spans"]
    server = next(span for span in spans if span["kind"] == "SERVER")
    assert server["service"] == "khabar-api" and server["parent_span_id"] == caller_span
    by_id = {span["span_id"]: span for span in spans}

    def under_server(span: dict[str, Any]) -> bool:
        parent = span["parent_span_id"]
        while parent in by_id:
            if parent == server["span_id"]:
                return True
            parent = by_id[parent]["parent_span_id"]
        return False

    searches = [s for s in spans if s["attributes"].get("db.system") == "elasticsearch"]
    assert searches and all(under_server(span) for span in searches)


def test_unknown_article_has_no_trace(api: httpx.Client) -> None:
    assert api.get(f"/articles/{uuid.uuid4().hex}/trace").status_code == 404
    assert api.get("/articles/not-an-id/trace").status_code == 422


def test_every_metric_the_dashboards_query_is_scraped_from_the_services(
    stack: LocalStack,
) -> None:
    scraped: set[str] = set()
    for service in ("api", "ingest", "enrich", "index"):
        response = httpx.get(
            f"http://127.0.0.1:{getattr(stack.ports, service)}/metrics", timeout=10
        )
        assert response.status_code == 200, service
        scraped.update(
            family(line.split()[2])
            for line in response.text.splitlines()
            if line.startswith("# TYPE ")
        )
    queried = {
        family(name)
        for path in DASHBOARDS
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]
        for target in panel.get("targets", [])
        for name in metric_names(target["expr"])
    }
    assert queried and queried - scraped == set()


def test_dead_lettered_article_shows_where_it_stopped_in_traces_and_logs(
    stack: LocalStack, api: httpx.Client
) -> None:
    """A message enrich cannot read: its journey ends in enrich; its log line names it."""
    key = uuid.uuid4().hex

    async def publish() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.kafka_bootstrap, enable_idempotence=True
        )
        await producer.start()
        try:
            await producer.send_and_wait("articles.raw", b"\xff not an article", key=key.encode())
        finally:
            await producer.stop()

    asyncio.run(publish())

    def enrich_spans() -> list[dict[str, Any]] | None:
        response = api.get(f"/articles/{key}/trace")
        if response.status_code != 200:
            return None
        spans: list[dict[str, Any]] = response.json()["spans"]
        return spans if any(s["service"] == "khabar-enrich" for s in spans) else None

    spans = wait_for(enrich_spans, timeout=SPAN_WAIT_SECONDS)
    assert {span["service"] for span in spans} == {"khabar-enrich"}, "it never reached index"
    process = _one(spans, "khabar-enrich", "articles.raw process")

    def logged() -> dict[str, Any] | None:
        for line in stack.children["enrich"].log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and key in line:
                record: dict[str, Any] = json.loads(line)
                if record.get("message") == "dead-lettered message":
                    return record
        return None

    record = wait_for(logged, timeout=30)
    assert record["article_id"] == key and record["service"] == "enrich"
    assert record["trace_id"] == process["trace_id"]
    assert record["span_id"] == process["span_id"]
    assert record["topic"] == "articles.raw"
    assert isinstance(record["partition"], int) and isinstance(record["offset"], int)
