"""Article endpoints: read one enriched article and what is related to it, and submit articles
into the chain.

Submissions go through the process's publisher (:class:`shared.publisher.Publisher`) with the
same stable ids ingest gives them, so a resubmitted article is the same document. A broker that
is down is a 503 with a reason to retry, never a lost article.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

from elasticsearch import TransportError
from fastapi import APIRouter, Body, HTTPException, Path, Query, status
from fastapi.responses import JSONResponse
from starlette.convertors import StringConvertor, register_url_convertor

from services.api.contract import SubmissionBody
from services.api.deps import (
    READ_ERRORS,
    SEARCH_ERRORS,
    WRITE_ERRORS,
    ReadKeyDep,
    ResourcesDep,
    WriteKeyDep,
)
from services.api.errors import error_responses
from services.api.execute import add_stories, run_msearch
from services.api.hybrid import close_coverage_request, related_hits, related_story_request
from shared.elastic import get_document
from shared.errors import BrokerError
from shared.models import (
    Accepted,
    ArticleAccepted,
    EnrichedArticle,
    RelatedResponse,
)
from shared.telemetry import current_trace_id

ARTICLE_ID = Path(pattern=r"^[0-9a-f]{32}$", description="The article's 32-hex-character id.")
MAX_BATCH = 500
_NO_ARTICLE = error_responses(404, _404="No article with this id.")
_BATCH = Body(min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} articles.")


def _follow_up(id_expression: str) -> dict[str, dict[str, Any]]:
    """The OpenAPI link from an accepted write to where the article can be followed.

    The answer is a 202: the article is on its way through the chain, so the link goes to its
    trace — the status monitor RFC 9110 asks a 202 to point to, which knows the article from the
    moment it is accepted. ``GET /articles/{id}`` answers once it is indexed (404 until then), so
    it is linked from search hits, not from the write.
    """
    return {
        "GetArticleTrace": {
            "operationId": "get_article_trace",
            "parameters": {"article_id": id_expression},
            "description": "Where the accepted article is in the chain.",
        }
    }


router = APIRouter(tags=["articles"])


class _ArticleSegment(StringConvertor):
    """A path segment naming an article: anything but a sibling route's literal (``batch``), so
    ``GET /articles/batch`` is the 405 of a POST-only path, not a malformed article id."""

    regex = "(?!batch$)[^/]+"


register_url_convertor("article", _ArticleSegment())

#: Headers of an answer about an article still on its way.
_RETRY_SOON = {"Retry-After": "1"}
_IN_FLIGHT: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ArticleAccepted,
        "description": "This gateway accepted the article and it is still on its way through "
        "the chain: retry after Retry-After seconds (its trace shows where it is).",
        "headers": {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}}},
    }
}


def _in_flight(article_id: str) -> JSONResponse:
    body = ArticleAccepted(id=article_id).model_dump(mode="json")
    return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers=_RETRY_SOON)


async def _article_source(
    resources: ResourcesDep, article_id: str, excludes: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """The indexed article; None while one this gateway accepted is still on its way (a 202,
    like the write's, rather than a 404 for an article the client was just told exists)."""
    try:
        source = await get_document(
            resources.es, resources.settings.index_alias, article_id, excludes
        )
    except TransportError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
        ) from exc
    if source is None and article_id not in resources.accepted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no article with id {article_id}")
    return source


@contextlib.contextmanager
def _broker_or_503() -> Iterator[None]:
    try:
        yield
    except BrokerError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the broker is unavailable; retry later"
        ) from exc


@router.post(
    "/articles",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ArticleAccepted,
    responses={**WRITE_ERRORS, 202: {"links": _follow_up("$response.body#/id")}},
)
async def post_article(
    resources: ResourcesDep, _: WriteKeyDep, submission: SubmissionBody
) -> ArticleAccepted:
    """Submit one article to the pipeline; answers with its stable id.

    The request's span opens the article's trace (the request is about this article alone).
    """
    article = submission.to_raw()
    with _broker_or_503():
        await resources.publisher.publish(article)
    resources.accepted[article.id] = current_trace_id()
    return ArticleAccepted(id=article.id)


@router.post(
    "/articles/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses={**WRITE_ERRORS, 202: {"links": _follow_up("$response.body#/ids/0")}},
)
async def post_articles(
    resources: ResourcesDep,
    _: WriteKeyDep,
    submissions: Annotated[list[SubmissionBody], _BATCH],
) -> Accepted:
    """Submit 1 to 500 articles at once (a 422 otherwise, like any request the document does
    not allow).

    Each article gets a trace of its own, linked to this request's span.
    """
    articles = [submission.to_raw() for submission in submissions]
    with _broker_or_503():
        await resources.publisher.publish_many(articles)
    for article in articles:
        resources.accepted[article.id] = None
    return Accepted(ids=[article.id for article in articles])


@router.get(
    "/articles/{article_id:article}",
    response_model=EnrichedArticle,
    responses={**_IN_FLIGHT, **READ_ERRORS, **_NO_ARTICLE, **error_responses(503)},
)
async def get_article(
    resources: ResourcesDep, _: ReadKeyDep, article_id: Annotated[str, ARTICLE_ID]
) -> EnrichedArticle | JSONResponse:
    """One enriched article with its entities, mentions and story (its vectors left out)."""
    source = await _article_source(resources, article_id, excludes=("vector", "story_vector"))
    if source is None:
        return _in_flight(article_id)
    return EnrichedArticle.model_validate(source)


@router.get(
    "/articles/{article_id:article}/related",
    response_model=RelatedResponse,
    responses={**_IN_FLIGHT, **SEARCH_ERRORS, **_NO_ARTICLE},
)
async def get_related(
    resources: ResourcesDep,
    _: ReadKeyDep,
    article_id: Annotated[str, ARTICLE_ID],
    size: Annotated[int, Query(ge=1, le=50, description="Hits at most.")] = 10,
) -> RelatedResponse | JSONResponse:
    """The same story in other languages, then in its own language, then close coverage of
    other stories — each hit shaped like a ``/search`` hit."""
    source = await _article_source(resources, article_id)
    if source is None:
        return _in_flight(article_id)
    story = source.get("story_id")
    vector = source.get("vector")
    bodies = [related_story_request(article_id, story, size)] if story else []
    if vector:
        minimum = resources.settings.api_semantic_min_similarity
        bodies.append(close_coverage_request(article_id, story, vector, size, minimum))
    answers = await run_msearch(resources, bodies) if bodies else []
    hits = related_hits(source, answers, has_story=bool(story), size=size)
    await add_stories(resources, hits)
    return RelatedResponse.model_validate({"id": article_id, "story_id": story, "hits": hits})
