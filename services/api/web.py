"""The web interface: pages for people, served by the gateway itself.

Everything under ``/ui`` is static — one HTML shell for four pages, ES modules, a stylesheet, a
vendored chart library (uPlot) and the Noto fonts for Nastaliq/Naskh and Devanagari — and the
pages call the same public JSON API as any other consumer (``/search``, ``/articles/{id}``,
``/entities…``, ``/stats``, ``/metrics``). So there is no build step, nothing is fetched from a
CDN (readers may be offline), and the UI can never see more than the API allows.

Pages get a strict Content-Security-Policy (scripts and fonts from this origin only) because
search highlights carry text from arbitrary articles; the scripts also insert that text as text,
never as HTML. Static files are served with a validator (ETag) so a reload costs one 304 per file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse, Response

STATIC_DIR = Path(__file__).resolve().parent / "static"
UI_PREFIX = "/ui"

#: Page name (the path after ``/ui/``) → the module that builds it. Every page is the same HTML
#: shell; ``js/main.js`` imports the module named by the path (the two lists must agree).
PAGES: dict[str, str] = {
    "": "search.js",
    "entity": "entity.js",
    "article": "article.js",
    "dashboard": "dashboard.js",
}
SHELL = "page.html"

#: Types ``mimetypes`` does not know everywhere (woff2) or guesses differently per platform.
MEDIA_TYPES: dict[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # pages are tiny and change with a deploy; always revalidate
    "Cache-Control": "no-cache",
}


def resolve_static(relative: str, root: Path = STATIC_DIR) -> Path | None:
    """The file under ``root`` a URL path names, or None for anything else.

    Refuses traversal (``..``, absolute paths, symlinks out of the tree), hidden files and
    types we do not serve, so the route can never read beyond the shipped assets.
    """
    if not relative or "\\" in relative or "\x00" in relative:
        return None
    parts = relative.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    if candidate.suffix not in MEDIA_TYPES:
        return None
    return candidate


def entity_tag(path: Path) -> str:
    """A strong validator from the file's size and modification time (cheap, no read)."""
    stat = path.stat()
    digest = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def _file(path: Path, if_none_match: str | None, headers: dict[str, str]) -> Response:
    tag = entity_tag(path)
    all_headers = {**headers, "ETag": tag}
    if if_none_match and tag in {value.strip() for value in if_none_match.split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=all_headers)
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=all_headers)


IfNoneMatch = Annotated[str | None, Header()]


def web_router(root: Path = STATIC_DIR) -> APIRouter:
    """Routes for the pages and their assets (kept out of the OpenAPI schema)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def get_home() -> RedirectResponse:
        """People who open the bare address want the search page, not a 404."""
        return RedirectResponse(f"{UI_PREFIX}/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)

    @router.get(UI_PREFIX)
    async def get_ui_root() -> RedirectResponse:
        """``/ui`` and ``/ui/`` are the same page; relative asset URLs need the slash."""
        return RedirectResponse(f"{UI_PREFIX}/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)

    @router.api_route(UI_PREFIX + "/static/{relative:path}", methods=["GET", "HEAD"])
    async def get_asset(relative: str, if_none_match: IfNoneMatch = None) -> Response:
        """A stylesheet, script, font or licence file; cached, revalidated by ETag."""
        path = resolve_static(relative, root)
        if path is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such asset")
        return _file(path, if_none_match, {"Cache-Control": "public, max-age=300"})

    @router.api_route(UI_PREFIX + "/{page}", methods=["GET", "HEAD"])
    async def get_page(page: str, if_none_match: IfNoneMatch = None) -> Response:
        """One of the pages; its script reads the query string and calls the API."""
        if page.strip("/") not in PAGES:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such page")
        return _file(root / SHELL, if_none_match, PAGE_HEADERS)

    @router.api_route(UI_PREFIX + "/", methods=["GET", "HEAD"])
    async def get_search_page(if_none_match: IfNoneMatch = None) -> Response:
        """The search page, the interface's front door."""
        return _file(root / SHELL, if_none_match, PAGE_HEADERS)

    return router
