"""The gateway's SERVER span middleware: one span per request, named by route, joined to callers."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI, HTTPException
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.telemetry import ServerSpanMiddleware, fastapi_options


def _app(exporter: InMemorySpanExporter) -> FastAPI:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    app = FastAPI(**fastapi_options())

    @app.get("/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, Any]:
        with tracer.start_as_current_span("child"):
            pass
        if item_id == "missing":
            raise HTTPException(404, "no such item")
        if item_id == "boom":
            raise RuntimeError("boom")
        return {"id": item_id}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(ServerSpanMiddleware, tracer=tracer)
    return app


def _get(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> int:
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"api.test:8000"), (b"user-agent", b"pytest"), *(headers or [])],
        "client": ("10.0.0.1", 4321),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except RuntimeError:
            pass

    asyncio.run(run())
    return int(sent[0]["status"]) if sent else 500


def test_one_server_span_per_request_named_by_route_with_the_caller_as_parent() -> None:
    exporter = InMemorySpanExporter()
    app = _app(exporter)
    trace_id, caller = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    parent = [(b"traceparent", f"00-{trace_id}-{caller}-01".encode())]
    assert _get(app, "/items/42?x=1", parent) == 200

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"GET /items/{item_id}", "child"}
    server = spans["GET /items/{item_id}"]
    assert server.kind is trace.SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.parent is not None and format(server.parent.span_id, "016x") == caller
    child = spans["child"]
    assert child.parent is not None and child.parent.span_id == server.context.span_id
    attributes = dict(server.attributes or {})
    assert attributes["http.route"] == "/items/{item_id}"
    assert attributes["http.status_code"] == 200
    assert attributes["http.method"] == "GET"
    assert attributes["http.url"] == "http://api.test:8000/items/42?x=1"
    assert attributes["net.peer.ip"] == "10.0.0.1"
    assert server.status.status_code is trace.StatusCode.UNSET


def test_errors_are_marked_and_probes_are_not_traced() -> None:
    exporter = InMemorySpanExporter()
    app = _app(exporter)
    assert _get(app, "/healthz") == 200
    assert _get(app, "/items/missing") == 404
    assert _get(app, "/items/boom") == 500
    assert _get(app, "/nowhere") == 404

    servers = [s for s in exporter.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /items/{item_id}", "GET /items/{item_id}", "GET"]
    missing, boom, unmatched = servers
    assert (missing.attributes or {})["http.status_code"] == 404
    assert missing.status.status_code is trace.StatusCode.UNSET
    assert (boom.attributes or {})["http.status_code"] == 500
    assert boom.status.status_code is trace.StatusCode.ERROR
    assert any(event.name == "exception" for event in boom.events)
    assert "http.route" not in (unmatched.attributes or {})
