"""Routers that modules other than ``services.api.app`` contribute to the gateway.

Each feature area keeps its routes in its own module and is listed here once, so features can be
added without touching the application factory.
"""

from __future__ import annotations

from fastapi import APIRouter


def feature_routers() -> list[APIRouter]:
    """Every feature router, in the order their routes should be matched."""
    routers: list[APIRouter] = []
    return routers
