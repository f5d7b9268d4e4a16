"""Hostile requests to the gateway: a 4xx with a reason, never a 500 and never an open door.

The application is built exactly as in production (``create_app``) but its lifespan is not run,
so no broker or search server is reached: requests that pass every check end in 503 ("broker
unavailable"), which is how these tests tell "accepted by the edge" from "refused by the edge".
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.api.app import create_app
from shared.settings import ApiSettings
from tests.unit.hostile import json_documents

KEY = "test-write-key-1"
LIMIT = 10_000
JSON = {"content-type": "application/json"}
WRITE = {**JSON, "X-API-Key": KEY}


def _client(**overrides: object) -> TestClient:
    options: dict[str, object] = {
        "api_keys": KEY,
        "api_max_body_bytes": LIMIT,
        "api_rate_limit_per_second": 0,
        "trace_store": "none",
        **overrides,
    }
    return TestClient(create_app(ApiSettings(**options)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The gateway with a write key, a small body limit and no rate limit."""
    yield _client()


def test_oversized_body_is_413_with_the_limit_in_the_message(client: TestClient) -> None:
    body = json.dumps({"title": "x", "body": "a" * (LIMIT + 1)})
    response = client.post("/articles", content=body, headers=WRITE)
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["detail"]


def test_chunked_body_without_a_length_cannot_bypass_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"body": "'
        for _ in range(50):
            yield b"a" * 1_000
        yield b'"}'

    response = client.post("/articles", content=chunks(), headers=WRITE)
    assert response.status_code == 411
    assert str(LIMIT) in response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "t" * 2_001, "body": "b"}, "title"),
        ({"body": 12}, "body"),
        ({"body": ["a"]}, "body"),
        ({"body": "b", "published_at": "yesterday"}, "published_at"),
        ({"body": "b", "language": "urdu!"}, "language"),
        ({"body": "b", "admin": True}, "admin"),
        ({"title": "no body"}, "body"),
    ],
)
def test_wrong_fields_are_422_naming_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    response = client.post("/articles", json=payload, headers={"X-API-Key": KEY})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == 422 and field in problem["detail"], problem
    assert any(field in error["loc"] for error in problem["errors"]), response.text


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 4_000 + b"]" * 4_000,
        b'{"body": ' + b'{"a":' * 1_500 + b"1" + b"}" * 1_500 + b"}",
        b"\xff\xfe\x00garbage",
        b'{"body": "unterminated',
        b"",
    ],
    ids=["nested-array", "nested-object", "invalid-utf8", "truncated", "empty"],
)
def test_malformed_and_deeply_nested_json_is_a_4xx_with_a_reason(
    client: TestClient, body: bytes
) -> None:
    response = client.post("/articles", content=body, headers=WRITE)
    # 422 for JSON the parser rejects; 400 when nesting exceeds the parser's recursion limit.
    assert response.status_code in {400, 422}, response.text
    assert response.json()["detail"]


def test_batch_outside_1_to_500_is_422(client: TestClient) -> None:
    for batch in ([], [{"body": "x"}] * 501):
        response = client.post("/articles/batch", json=batch, headers={"X-API-Key": KEY})
        assert response.status_code == 422, response.text


json_values = json_documents(
    ["title", "body", "url", "source", "published_at", "language"], max_leaves=30
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=json_values, batch=st.booleans())
def test_any_json_payload_is_accepted_or_refused_with_a_reason(
    client: TestClient, payload: object, batch: bool
) -> None:
    # json.dumps escapes lone surrogates (\ud800), which a UTF-8 client could not send raw
    response = client.post(
        "/articles/batch" if batch else "/articles",
        content=json.dumps(payload),
        headers={"X-API-Key": KEY, "content-type": "application/json"},
    )
    # 503: valid, passed every check, and only the (absent) broker refused it.
    assert response.status_code in {422, 503}, response.text
    if response.status_code == 422:
        assert response.json()["detail"]


@pytest.mark.parametrize("path", ["/articles", "/articles/batch"])
@pytest.mark.parametrize("key", [None, "", "wrong", KEY + "x", KEY.upper()])
def test_writes_need_a_valid_key_when_keys_are_configured(
    client: TestClient, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    payload: object = {"body": "b"} if path == "/articles" else [{"body": "b"}]
    response = client.post(path, json=payload, headers=headers)
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


def test_the_right_key_passes_the_door(client: TestClient) -> None:
    response = client.post("/articles", json={"body": "b"}, headers={"X-API-Key": KEY})
    assert response.status_code == 503  # past auth and validation; no broker in unit tests


def test_cors_is_closed_by_default(client: TestClient) -> None:
    preflight = client.options(
        "/articles",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_opens_only_to_configured_origins() -> None:
    client = _client(api_cors_origins="https://news.example")
    allowed = client.get("/healthz", headers={"Origin": "https://news.example"})
    assert allowed.headers.get("access-control-allow-origin") == "https://news.example"
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
