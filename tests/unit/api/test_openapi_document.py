"""The OpenAPI document says what each configuration enforces, and every error has its shape.

The gateway is built as in production (``create_app``) without its lifespan: nothing reaches a
broker or a search server, and where a route would, the test swaps in a fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from services.api import articles, traces
from services.api.app import create_app
from services.api.contract import SubmissionBody, in_utc
from shared.models import ProblemDetail
from shared.settings import ApiSettings

KEY = "unit-test-key-1"
ARTICLE = "0123456789abcdef0123456789abcdef"


def _app(**overrides: object) -> TestClient:
    options: dict[str, Any] = {
        "api_rate_limit_per_second": 0,
        "trace_store": "none",
        "elasticsearch_url": "http://127.0.0.1:9",
        **overrides,
    }
    return TestClient(create_app(ApiSettings(**options)), raise_server_exceptions=False)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _keyed(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The operations behind the key dependencies (the gateway's own API, not the probes)."""
    for path, method, operation in _operations(document):
        if path not in {"/healthz", "/readyz", "/asyncapi.json"}:
            yield path, method, operation


def test_without_keys_the_document_names_no_key_and_no_401() -> None:
    document = _app().get("/openapi.json").json()
    assert "securitySchemes" not in document["components"]
    for path, method, operation in _keyed(document):
        assert "security" not in operation, (path, method)
        assert "401" not in operation["responses"], (path, method)


def test_with_write_keys_writes_require_one_and_reads_accept_one() -> None:
    document = _app(api_keys=KEY).get("/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"ApiKey"}
    for path, method, operation in _keyed(document):
        if method == "post":
            assert operation["security"] == [{"ApiKey": []}], path
            assert "401" in operation["responses"], path
        else:
            assert operation["security"] == [{}, {"ApiKey": []}], path
            assert "401" not in operation["responses"], path


def test_with_keys_for_reads_every_operation_requires_one() -> None:
    document = _app(api_keys=KEY, api_keys_for_reads=True).get("/openapi.json").json()
    for path, method, operation in _keyed(document):
        assert operation["security"] == [{"ApiKey": []}], (path, method)
        assert "401" in operation["responses"], (path, method)


def test_every_error_is_declared_as_a_problem_and_nothing_else() -> None:
    document = _app(api_keys=KEY).get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    problem_ref = {"$ref": "#/components/schemas/ProblemDetail"}
    for path, _method, operation in _keyed(document):
        assert "422" in operation["responses"] and "429" in operation["responses"], path
        for code, response in operation["responses"].items():
            if code[0] in "45":
                assert response["content"] == {"application/problem+json": {"schema": problem_ref}}
    # operation ids are the route names, usable as method names by a client generator
    assert document["paths"]["/search"]["get"]["operationId"] == "search_articles"
    links = document["paths"]["/articles"]["post"]["responses"]["202"]["links"]
    assert links["GetArticleTrace"]["operationId"] == "get_article_trace"


def _problem(response: Any, status: int) -> ProblemDetail:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = ProblemDetail.model_validate_json(response.content)
    assert problem.status == status and problem.detail
    return problem


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/no/such/path", 404),
        ("DELETE", "/search", 405),
        ("GET", "/articles/batch", 405),
        ("GET", "/search?size=0", 422),
        ("GET", "/search?from=2025-03-05", 422),
        ("GET", "/search?from=1741132800", 422),
        ("GET", "/search?cursor=not%20base64", 422),
        ("GET", "/search?from=2025-03-06T00:00:00Z&to=2025-03-05T00:00:00Z", 400),
        ("POST", "/articles", 401),
    ],
)
def test_errors_from_every_layer_share_one_shape(method: str, path: str, status: int) -> None:
    client = _app(api_keys=KEY)
    _problem(client.request(method, path, json={"body": "b"}), status)


def test_a_405_names_the_methods_the_path_has() -> None:
    response = _app().get("/articles/batch")
    _problem(response, 405)
    assert response.headers["allow"] == "POST"


def test_admission_refusals_share_the_shape() -> None:
    limited = _app(api_rate_limit_per_second=0.001, api_rate_limit_burst=1)
    _problem(limited.get("/no/such/path"), 404)  # the one token of the burst
    refused = limited.get("/no/such/path")
    _problem(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    small = _app(api_max_body_bytes=1_000)
    _problem(small.post("/articles", content=b'{"body": "%s"}' % (b"x" * 1_000)), 413)


def test_a_422_lists_each_failed_rule_with_its_place() -> None:
    problem = _problem(_app().post("/articles", json={"body": "", "published_at": 0}), 422)
    places = {tuple(error.loc) for error in problem.errors}
    assert ("body", "published_at") in places, places
    batch = _problem(_app().post("/articles/batch", json=[]), 422)
    assert "at least 1 item" in batch.detail


class _Publisher:
    async def publish(self, article: object) -> None:
        return None


def test_an_accepted_article_is_202_until_indexed_and_its_trace_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def nothing_indexed(*args: object) -> None:
        return None

    monkeypatch.setattr(articles, "get_document", nothing_indexed)
    monkeypatch.setattr(traces, "get_document", nothing_indexed)
    client = _app()
    client.app.state.resources.publisher = _Publisher()  # type: ignore[attr-defined]
    accepted = client.post("/articles", json={"body": "an article on its way"})
    assert accepted.status_code == 202, accepted.text
    article_id = accepted.json()["id"]
    pending = client.get(f"/articles/{article_id}")
    assert pending.status_code == 202 and pending.json() == {"id": article_id}
    assert pending.headers["retry-after"] == "1"
    assert client.get(f"/articles/{article_id}/related").status_code == 202
    journey = client.get(f"/articles/{article_id}/trace")
    assert journey.status_code == 200 and journey.json()["article_id"] == article_id
    assert journey.json()["complete"] is False
    _problem(client.get(f"/articles/{ARTICLE}"), 404)  # never accepted here: unknown


def test_published_at_is_kept_in_utc() -> None:
    submission = TypeAdapter(SubmissionBody).validate_python(
        {"body": "b", "published_at": "2025-03-05T23:30:00+18:30"}
    )
    assert submission.published_at is not None
    assert submission.published_at.isoformat() == "2025-03-05T05:00:00+00:00"
    edge = TypeAdapter(SubmissionBody).validate_python(
        {"body": "b", "published_at": "0001-01-01T00:00:00+01:00"}
    )
    assert edge.published_at == in_utc(edge.published_at)  # type: ignore[arg-type]
    assert edge.published_at is not None and edge.published_at.year == 1
