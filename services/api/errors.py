"""Every error the gateway answers, in one shape, and the documentation that says so.

A route raises ``HTTPException`` with a reason; request validation, the router (404, 405) and
the admission checks (429, 411, 413) refuse on their own. All of them answer with a
:class:`shared.models.ProblemDetail` as ``application/problem+json``, so a consumer — the web
UI's ``getJSON`` included — reads ``detail`` (always a sentence) the same way for every status,
and the OpenAPI document can declare one schema for every 4xx and 5xx. :func:`error_responses`
builds a route's ``responses=`` from status codes, so what a route declares is a list of the
codes it can really return, each with this schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from shared.models import FieldError, ProblemDetail

PROBLEM_JSON = "application/problem+json"
#: Failed rules listed in a 422 at most: a 500-article batch with every field wrong must not
#: answer with thousands of entries.
MAX_FIELD_ERRORS = 20

#: What each status means on this gateway, for the OpenAPI document.
DESCRIPTIONS: dict[int, str] = {
    400: "The request is well formed but cannot be run (see detail: a cursor that is not "
    "valid, too many query words, 'from' after 'to', a search the server refuses).",
    401: "A valid X-API-Key header is required.",
    404: "Nothing has this id.",
    411: "A write must declare its Content-Length.",
    413: "The request body exceeds the gateway's limit.",
    422: "The request does not match this document; errors lists each failed rule.",
    429: "Too many requests from this client; retry after the Retry-After header's seconds.",
    502: "The search server failed.",
    503: "A backend (the search server or the broker) is unavailable; retry later.",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before the next request.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}


class ProblemResponse(JSONResponse):
    """A JSON response with the problem-details media type."""

    media_type = PROBLEM_JSON


def problem(
    code: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> ProblemResponse:
    """The answer for one refusal: status, its phrase, the reason and any failed rules."""
    body = ProblemDetail(
        title=_phrase(code), status=code, detail=detail, errors=errors or []
    ).model_dump(mode="json")
    return ProblemResponse(body, status_code=code, headers=dict(headers or {}))


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


async def http_error(_: Request, exc: Exception) -> ProblemResponse:
    """``HTTPException`` from a route or the router (404, 405 with its ``Allow`` header)."""
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
    return problem(exc.status_code, detail, headers=exc.headers)


async def validation_error(_: Request, exc: Exception) -> ProblemResponse:
    """A 422 naming each failed rule (at most :data:`MAX_FIELD_ERRORS`) and summing them up."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(
            loc=[part if isinstance(part, int) else str(part) for part in err.get("loc", ())],
            msg=str(err.get("msg", "")),
            type=str(err.get("type", "")),
        )
        for err in exc.errors()[:MAX_FIELD_ERRORS]
    ]
    first = errors[0] if errors else None
    summary = f"{'.'.join(map(str, first.loc))}: {first.msg}" if first else "not valid"
    more = len(exc.errors()) - 1
    detail = f"the request is not valid: {summary}" + (f" (and {more} more)" if more > 0 else "")
    return problem(status.HTTP_422_UNPROCESSABLE_CONTENT, detail, errors=errors)


def error_responses(*codes: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=`` entries for the error statuses it can return.

    Descriptions default to :data:`DESCRIPTIONS`; ``descriptions`` overrides them by status
    (``_404="No article with this id."``). A 429 documents its ``Retry-After`` header.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {
            "model": ProblemDetail,
            "description": descriptions.get(f"_{code}", DESCRIPTIONS[code]),
        }
        if code == status.HTTP_429_TOO_MANY_REQUESTS:
            entry["headers"] = _RETRY_AFTER
        responses[code] = entry
    return responses
