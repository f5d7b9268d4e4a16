"""Who may call the gateway, and how often: API keys and a per-client token bucket.

Keys are kept only as SHA-256 digests and compared with :func:`hmac.compare_digest`, so neither
the configured keys nor timing reveal anything. Rate limiting is a small in-process token bucket
per client — the API key's digest when a valid key is sent, else the peer address — which is
enough for one gateway process; behind several replicas each enforces its own share (put a
shared limiter in the ingress when that matters). The bucket table is bounded: the least
recently seen clients are forgotten first, so a flood of addresses cannot grow memory.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Sequence

from cachetools import LRUCache
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.errors import ProblemResponse, problem


class KeyChecker:
    """Constant-time checks of an API key against configured keys, held as digests."""

    def __init__(self, keys: Sequence[SecretStr]) -> None:
        self._digests = [hashlib.sha256(k.get_secret_value().encode()).digest() for k in keys]

    @property
    def configured(self) -> bool:
        """True when keys are set (otherwise every caller is allowed)."""
        return bool(self._digests)

    def allowed(self, key: str | None) -> bool:
        """True for a configured key, or for anyone when no keys are configured."""
        if not self._digests:
            return True
        digest = hashlib.sha256((key or "").encode()).digest()
        # Compare against every key (no early exit) so timing does not tell which one matched.
        matches = [hmac.compare_digest(digest, allowed) for allowed in self._digests]
        return any(matches)

    def client_id(self, key: str | None, address: str) -> str:
        """The rate-limit identity: a valid key's digest, else the peer address."""
        if key and self._digests and self.allowed(key):
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
        return f"ip:{address}"


class RateLimiter:
    """Token buckets per client: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        # Each client's (tokens, last refill); the least recently seen client is forgotten
        # first once max_clients are known (a forgotten client starts again with a full burst).
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(max(1, max_clients))

    @property
    def enabled(self) -> bool:
        """A rate of 0 turns limiting off."""
        return self.rate > 0

    def acquire(self, client: str) -> float:
        """Take one token: 0.0 when allowed, else the seconds until a token is available."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[client] = (tokens, now)
        return wait


def retry_after(wait: float) -> str:
    """A ``Retry-After`` header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))


#: Paths never rate limited: probes, metrics scrapes and the static pages.
UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/metrics", "/ui")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


class AdmissionMiddleware:
    """Refuses a request before any routing work: rate limit (429), then body size (413/411).

    A plain ASGI middleware on purpose: Starlette's ``BaseHTTPMiddleware`` streams every
    response through an extra task and memory channel, which cost more than the checks.
    """

    def __init__(
        self, app: ASGIApp, *, keys: KeyChecker, limiter: RateLimiter, max_body_bytes: int
    ) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> ProblemResponse | None:
        headers = Headers(scope=scope)
        if self.limiter.enabled and not str(scope["path"]).startswith(UNLIMITED_PREFIXES):
            client = scope.get("client")
            address = client[0] if client else "unknown"
            wait = self.limiter.acquire(self.keys.client_id(headers.get("x-api-key"), address))
            if wait > 0:
                return problem(
                    429,
                    "rate limit exceeded; retry after the Retry-After seconds",
                    headers={"Retry-After": retry_after(wait)},
                )
        length = headers.get("content-length")
        limit = self.max_body_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return problem(413, f"request body exceeds the limit of {limit} bytes")
        if length is None and scope["method"] in _WRITE_METHODS:
            # A chunked body has no length to check up front and would be read whole into
            # memory: writes must declare their size.
            return problem(411, f"a Content-Length header is required (limit {limit} bytes)")
        return None
