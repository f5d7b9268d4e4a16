"""Routers that modules other than ``services.api.app`` contribute to the gateway.

Each feature area keeps its routes in its own module and is listed here once, so features can be
added without touching the application factory.
"""

from __future__ import annotations

from fastapi import APIRouter


def feature_routers() -> list[APIRouter]:
    """Every feature router, in the order their routes should be matched."""
    from services.api import traces
    from services.api.web import web_router

    routers: list[APIRouter] = [traces.router]
    routers.append(web_router())  # last: the UI's catch-all page route must not shadow the API
    return routers
