"""Fixtures for the web-interface unit tests: the UI router alone, in-process and over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from services.api.web import web_router
from services.localstack import free_port
from tests.unit.web.browser import chromium


def ui_app() -> FastAPI:
    """An application with only the web router: no broker or search server needed."""
    app = FastAPI()
    app.include_router(web_router())
    return app


@pytest.fixture(scope="session")
def ui_server() -> Iterator[str]:
    """The UI router served by uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(ui_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ui/static/fonts/OFL.txt", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError("the UI test server did not start")
    yield base
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium for the session (skips when none can be had)."""
    with chromium() as driver:
        yield driver
