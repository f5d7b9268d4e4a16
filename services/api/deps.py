"""The gateway's per-process resources and the FastAPI dependencies every route uses.

One pooled Elasticsearch client (sized by ``KHABAR_API_SEARCH_CONNECTIONS`` so 50 concurrent
requests do not queue for a connection), one Kafka producer, the knowledge base and the vector
model are created once per process; routes receive them as ``Annotated`` dependencies.
:func:`run_search` is where search-server failures become HTTP errors with a reason a consumer
can act on.
"""

from __future__ import annotations

from typing import Annotated, Any

from cachetools import TTLCache
from elasticsearch import ApiError, AsyncElasticsearch, TransportError
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from services.api.broker import BrokerStats
from services.api.errors import error_responses
from services.api.openapi import READ_SCHEME, WRITE_SCHEME
from services.api.resolve import QueryResolver
from services.api.security import KeyChecker, RateLimiter
from shared.elastic import make_client
from shared.kb import KnowledgeBase
from shared.publisher import Publisher
from shared.settings import ApiSettings
from shared.vectors import StaticEmbedder, shared_embedder

#: How many accepted article ids a process remembers, and for how long (the chain indexes an
#: article within seconds; one still unknown after this long is a dead letter or lost).
ACCEPTED_KEPT = 100_000
ACCEPTED_SECONDS = 600.0


class Resources:
    """Per-process clients, created once with the application."""

    def __init__(
        self,
        settings: ApiSettings,
        kb: KnowledgeBase | None = None,
        embedder: StaticEmbedder | None = None,
    ) -> None:
        self.settings = settings
        self.es: AsyncElasticsearch = make_client(
            settings, connections_per_node=settings.api_search_connections
        )
        self.publisher = Publisher(settings, origin="api")
        self.kb = kb or KnowledgeBase.load()
        self.resolver = QueryResolver(self.kb)
        self.embedder = embedder or shared_embedder()
        self.keys = KeyChecker(settings.api_keys)
        self.limiter = RateLimiter(
            settings.api_rate_limit_per_second, settings.api_rate_limit_burst
        )
        self.broker = BrokerStats(settings)
        # Articles this process accepted lately → the trace each opened (None for a batch's,
        # whose traces are their own): what the trace route answers for an article still on its
        # way, before the index or the span store knows it.
        self.accepted: TTLCache[str, str | None] = TTLCache(ACCEPTED_KEPT, ACCEPTED_SECONDS)

    def key_allowed(self, key: str | None) -> bool:
        """Constant-time check of an API key against the configured (hashed) keys."""
        return self.keys.allowed(key)


async def get_resources(request: Request) -> Resources:
    """The process's clients.

    ``async def`` on purpose, like every dependency here: FastAPI runs a plain ``def``
    dependency in the thread pool, a hop per request that costs more than the work.
    """
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]

#: One header, two schemes: each marks the operations of its kind in the generated document, and
#: :mod:`services.api.openapi` turns the marks into what the settings enforce (one ``ApiKey``).
_READ_KEY = APIKeyHeader(name="X-API-Key", scheme_name=READ_SCHEME, auto_error=False)
_WRITE_KEY = APIKeyHeader(name="X-API-Key", scheme_name=WRITE_SCHEME, auto_error=False)


async def require_write_key(
    resources: ResourcesDep, x_api_key: Annotated[str | None, Security(_WRITE_KEY)] = None
) -> None:
    """Refuse a write without a valid key (when keys are configured)."""
    if not resources.key_allowed(x_api_key):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a valid X-API-Key header is required for writes"
        )


async def require_read_key(
    resources: ResourcesDep, x_api_key: Annotated[str | None, Security(_READ_KEY)] = None
) -> None:
    """Refuse a read without a valid key when reads are configured to need one."""
    if resources.settings.api_keys_for_reads and not resources.key_allowed(x_api_key):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "a valid X-API-Key header is required for reads"
        )


WriteKeyDep = Annotated[None, Depends(require_write_key)]
ReadKeyDep = Annotated[None, Depends(require_read_key)]

#: What every read can answer besides its result: no key (when reads need one), parameters
#: outside the document, the rate limit. (401 is dropped from the document where no key is
#: required.)
READ_ERRORS = error_responses(401, 422, 429)
#: Every route that queries the search server.
SEARCH_ERRORS = error_responses(400, 401, 422, 429, 502, 503)
#: Every write: a body that cannot be parsed, no key, a body without a length or over the
#: limit, not valid, broker down.
WRITE_ERRORS = error_responses(
    400, 401, 411, 413, 422, 429, 503, _400="The body could not be parsed (e.g. nested too deep)."
)


async def run_search(resources: Resources, request: dict[str, Any]) -> dict[str, Any] | None:
    """Run a search on the alias; None when the index does not exist yet, HTTP errors else."""
    try:
        response = await resources.es.search(index=resources.settings.index_alias, **request)
    except ApiError as exc:
        if exc.meta.status == 404:
            return None
        if exc.meta.status == 400:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "the search could not be run") from exc
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "search backend error") from exc
    except TransportError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
        ) from exc
    body: dict[str, Any] = response.body
    return body


def total_hits(response: dict[str, Any] | None) -> int:
    """The hit count of a search answer (0 without an index)."""
    if response is None:
        return 0
    total = response["hits"]["total"]
    return int(total["value"] if isinstance(total, dict) else total)
