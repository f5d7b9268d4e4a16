"""HTTP endpoints every FastAPI-based service has (liveness, readiness and metrics), and the
server that runs them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse

from shared.models import KhabarModel
from shared.telemetry import render_metrics

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]

#: After SIGTERM, requests in flight get this long to finish before the server closes them.
GRACEFUL_SHUTDOWN_SECONDS = 10

log = logging.getLogger(__name__)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run an HTTP service until SIGTERM, then drain for up to GRACEFUL_SHUTDOWN_SECONDS."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,  # our JSON logging (shared.telemetry), not uvicorn's
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


async def run_checks(
    checks: list[ReadinessCheck], details: dict[str, bool] | None = None
) -> tuple[bool, dict[str, bool]]:
    """Run readiness checks: ready only if every one says so; a check that raises says no."""
    details = dict(details or {})
    for check in checks:
        try:
            details.update(await check())
        except Exception:  # noqa: BLE001 - a failing check is a "not ready", not a crash
            log.exception("readiness check failed")
            details[getattr(check, "__name__", "check")] = False
    return all(details.values()), details


class Health(KhabarModel):
    """Liveness answer."""

    status: str
    service: str


class Readiness(KhabarModel):
    """Readiness answer with each dependency's state."""

    status: str
    checks: dict[str, bool]


def operational_router(service: str, checks: list[ReadinessCheck]) -> APIRouter:
    """``/healthz``, ``/readyz`` and ``/metrics`` for one service."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health)
    async def get_health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok", service=service)

    @router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def get_readiness() -> JSONResponse:
        """Readiness: 200 only while Kafka and Elasticsearch answer."""
        ready, details = await run_checks(checks)
        body = Readiness(status="ready" if ready else "not ready", checks=details)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    @router.get("/metrics", include_in_schema=False)
    async def get_metrics() -> Response:
        """Prometheus metrics."""
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    return router
