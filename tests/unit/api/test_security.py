from __future__ import annotations

import asyncio

import httpx
from pydantic import SecretStr

from services.api.app import create_app
from services.api.security import KeyChecker, RateLimiter, retry_after
from shared.settings import ApiSettings


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == 0.5  # one token takes half a second at 2/s
    assert limiter.acquire("b") == 0.0  # other clients have their own bucket
    clock.now += 0.5
    assert limiter.acquire("a") == 0.0
    assert retry_after(0.2) == "1" and retry_after(2.1) == "3"


def test_bucket_table_is_bounded_and_zero_rate_disables() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=2, clock=FakeClock())
    for client in ("a", "b", "c"):
        limiter.acquire(client)
    assert limiter.acquire("a") == 0.0  # "a" was forgotten, so it starts with a full bucket
    assert not RateLimiter(rate=0, burst=1).enabled


def test_keys_are_checked_as_digests_and_identify_clients() -> None:
    checker = KeyChecker([SecretStr("k1"), SecretStr("k2")])
    assert checker.allowed("k2") and not checker.allowed("k3") and not checker.allowed(None)
    assert checker.client_id("k1", "1.2.3.4").startswith("key:")
    assert "k1" not in checker.client_id("k1", "1.2.3.4")
    assert checker.client_id("forged", "1.2.3.4") == "ip:1.2.3.4"  # a bad key cannot dodge limits
    assert KeyChecker([]).allowed(None)


def test_app_answers_429_with_retry_after_and_requires_read_keys() -> None:
    settings = ApiSettings(
        api_rate_limit_per_second=0.5,
        api_rate_limit_burst=2,
        api_keys=[SecretStr("reader-key")],
        api_keys_for_reads=True,
        elasticsearch_url="http://127.0.0.1:9",
        trace_store="none",
    )
    app = create_app(settings)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.get("/search"),  # no key: refused before any search runs
                await client.get("/openapi.json"),
                await client.get("/search"),  # third request from this address: limited
                await client.get("/healthz"),  # probes are never limited
            ]

    unauthorised, schema, limited, health = asyncio.run(run())
    assert unauthorised.status_code == 401 and "reads" in unauthorised.text
    assert schema.status_code == 200
    # 2 s for a token at 0.5/s, less what the first two requests took (under a second or two)
    assert limited.status_code == 429 and limited.headers["Retry-After"] in {"1", "2"}
    assert health.status_code == 200
