"""Every router of the gateway, one module per resource, in the order routes are matched.

Add an endpoint to the module of its resource, or a new resource as a module with its own
``router`` listed here once; the application factory (:func:`services.api.app.create_app`) only
includes what this returns.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.api import articles, contract_route, entities, search_route, stats, stream, traces
from services.api.web import web_router


def resource_routers() -> list[APIRouter]:
    """The API's routers: the hot ones first (``/search``, articles), the web UI's catch-all
    page route last so it never shadows an API path."""
    return [
        search_route.router,
        articles.router,
        entities.router,
        stats.router,
        stream.router,
        traces.router,
        contract_route.router,
        web_router(),
    ]
