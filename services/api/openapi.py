"""The gateway's OpenAPI document, made to say what this process really enforces.

FastAPI writes the document from the routes, which are the same in every deployment; what a
deployment enforces is not: writes need a key only when ``KHABAR_API_KEYS`` is set, reads only
with ``KHABAR_API_KEYS_FOR_READS`` too. The key dependencies (:mod:`services.api.deps`) mark
each operation with the scheme of its kind (``ReadKey`` or ``WriteKey``); :func:`install` turns
those marks, once per generated document, into the truth for these settings:

- a key that is required is a required ``ApiKey`` (and the operation keeps its 401);
- a key that is accepted but not required (reads while only writes are locked: a valid key gets
  its own rate-limit bucket) is optional — ``[{}, {"ApiKey": []}]`` — and there is no 401;
- with no keys configured there is no scheme at all.

Error answers are ``application/problem+json`` (:mod:`services.api.errors`); routes declare
them with the ``ProblemDetail`` model, which FastAPI files under ``application/json``, so the
media type is corrected here too. A client generator or ``schemathesis --checks all`` then finds
exactly the server it talks to.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.api.errors import PROBLEM_JSON
from shared.settings import ApiSettings

#: The scheme every operation names in the published document.
API_KEY_SCHEME = "ApiKey"
#: The schemes the key dependencies mark operations with (never published).
READ_SCHEME = "ReadKey"
WRITE_SCHEME = "WriteKey"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) describe what ``settings`` enforce."""
    generate = app.openapi
    published: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not published or published[0] is not schema:
            truthful(schema, settings)
            published[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def truthful(schema: dict[str, Any], settings: ApiSettings) -> None:
    """Rewrite ``schema`` in place: key requirements per ``settings``, problem media types."""
    keys = bool(settings.api_keys)
    required = {WRITE_SCHEME: keys, READ_SCHEME: keys and settings.api_keys_for_reads}
    used = False
    for path_item in schema.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            used |= _operation_security(operation, required, offered=keys)
            _problem_media_types(operation)
    components = schema.setdefault("components", {})
    schemes = components.get("securitySchemes", {})
    for marker in (READ_SCHEME, WRITE_SCHEME):
        schemes.pop(marker, None)
    if used:
        schemes[API_KEY_SCHEME] = {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": _key_description(settings),
        }
    if schemes:
        components["securitySchemes"] = schemes
    else:
        components.pop("securitySchemes", None)


def _operation_security(
    operation: dict[str, Any], required: dict[str, bool], *, offered: bool
) -> bool:
    """Set one operation's security; True when it names the key at all."""
    marks = {name for entry in operation.pop("security", []) for name in entry}
    kinds = marks & required.keys()
    if not kinds or not offered:
        operation.get("responses", {}).pop("401", None)
        return False
    if any(required[kind] for kind in kinds):
        operation["security"] = [{API_KEY_SCHEME: []}]
    else:
        operation["security"] = [{}, {API_KEY_SCHEME: []}]
        operation.get("responses", {}).pop("401", None)
    return True


def _problem_media_types(operation: dict[str, Any]) -> None:
    for code, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        if code[:1] in "45" and "application/json" in content:
            content[PROBLEM_JSON] = content.pop("application/json")


def _key_description(settings: ApiSettings) -> str:
    if settings.api_keys_for_reads:
        return "API key: required on every request of this gateway (reads and writes)."
    return (
        "API key: required for writes; reads are open, and a valid key there only gives the "
        "caller a rate-limit bucket of its own."
    )
