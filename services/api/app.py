"""The gateway's application factory: resources, middleware and the resources' routers.

One pooled Elasticsearch client, one Kafka producer and the knowledge base per process
(:mod:`services.api.deps`), handed to routes as ``Annotated`` dependencies. Routes live in one
module per resource, listed in :mod:`services.api.routers`. Every request passes a per-client
rate limit; errors become ``HTTPException`` only at the edge, with a reason a consumer can act
on, and every error answers in one shape (:mod:`services.api.errors`). The OpenAPI document says
what these settings enforce (:mod:`services.api.openapi`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from services.api import openapi
from services.api.deps import Resources
from services.api.errors import http_error, validation_error
from services.api.routers import resource_routers
from services.api.security import AdmissionMiddleware
from shared.elastic import ping
from shared.http import operational_router, serve
from shared.kafka import ensure_topics
from shared.process import check_kafka_login, refuse_on_startup_errors, settle_heap
from shared.settings import ApiSettings
from shared.telemetry import (
    configure_telemetry,
    fastapi_options,
    instrument_api,
    shutdown_tracing,
)

log = logging.getLogger(__name__)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API application: its resources, middleware and every resource's router."""
    settings = settings or ApiSettings()
    configure_telemetry("api", settings)
    resources = Resources(settings)
    app = FastAPI(
        title="Khabar API",
        version="0.1.0",
        description=(
            "Search multilingual (Urdu, Hindi, English) news enriched with language, date and "
            "cross-script linked entities; submit articles into the pipeline."
        ),
        lifespan=_lifespan(resources),
        # operationIds a client generator can use as method names: the route functions' names
        generate_unique_id_function=lambda route: route.name,
        **fastapi_options(),
    )
    app.state.resources = resources
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api_cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
        )
    app.add_middleware(
        AdmissionMiddleware,
        keys=resources.keys,
        limiter=resources.limiter,
        max_body_bytes=settings.api_max_body_bytes,
    )
    # Outermost: every request, refused ones included, gets a span and is counted.
    instrument_api(app)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    openapi.install(app, settings)

    async def es_check() -> dict[str, bool]:
        return {"elasticsearch": await ping(resources.es)}

    for router in resource_routers():
        app.include_router(router)
    app.include_router(operational_router("api", [resources.publisher.ready, es_check]))
    return app


def _lifespan(resources: Resources) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the publisher (reads are served even while the broker is down), close on exit."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = resources
        try:
            await ensure_topics(resources.settings)
            await resources.publisher.start()
        except Exception:  # noqa: BLE001 - serve reads even when the broker is down; /readyz says so
            log.exception("Kafka unavailable at start; writes will fail until it returns")
        # Everything built so far (the knowledge base, routes, schemas, clients) lives as long
        # as the process: move it out of the collector's sight, so a full collection scans
        # only what requests allocate (it stalled every request ~70 ms otherwise).
        settle_heap()
        try:
            yield
        finally:
            await resources.publisher.stop()
            await resources.broker.close()
            await resources.es.close()
            shutdown_tracing()

    return lifespan


def main() -> None:
    """Run the API until SIGTERM."""
    with refuse_on_startup_errors("api"):
        settings = ApiSettings()
        check_kafka_login(settings)
    serve(create_app(settings), settings.bind_host, settings.api_port)
