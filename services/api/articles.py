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
from fastapi import APIRouter, HTTPException, Path, Query, status

from services.api.deps import SEARCH_ERRORS, ReadKeyDep, ResourcesDep, WriteKeyDep
from services.api.execute import add_stories, run_msearch
from services.api.hybrid import close_coverage_request, related_hits, related_story_request
from shared.elastic import get_document
from shared.errors import BrokerError
from shared.models import (
    Accepted,
    ArticleAccepted,
    ArticleSubmission,
    EnrichedArticle,
    RelatedResponse,
)

ARTICLE_ID = Path(pattern=r"^[0-9a-f]{32}$", description="The article's 32-hex-character id.")
MAX_BATCH = 500

router = APIRouter(tags=["articles"])


async def _article_source(
    resources: ResourcesDep, article_id: str, excludes: tuple[str, ...] = ()
) -> dict[str, Any]:
    try:
        source = await get_document(
            resources.es, resources.settings.index_alias, article_id, excludes
        )
    except TransportError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "search backend unavailable"
        ) from exc
    if source is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no article with id {article_id}")
    return source


@router.get(
    "/articles/{article_id}",
    response_model=EnrichedArticle,
    responses={404: {"description": "No article with this id."}},
)
async def get_article(
    resources: ResourcesDep, _: ReadKeyDep, article_id: Annotated[str, ARTICLE_ID]
) -> EnrichedArticle:
    """One enriched article with its entities, mentions and story (its vector left out)."""
    source = await _article_source(resources, article_id, excludes=("vector",))
    return EnrichedArticle.model_validate(source)


@router.get(
    "/articles/{article_id}/related",
    response_model=RelatedResponse,
    responses={**SEARCH_ERRORS, 404: {"description": "No article with this id."}},
)
async def get_related(
    resources: ResourcesDep,
    _: ReadKeyDep,
    article_id: Annotated[str, ARTICLE_ID],
    size: Annotated[int, Query(ge=1, le=50, description="Hits at most.")] = 10,
) -> RelatedResponse:
    """The same story in other languages, then in its own language, then close coverage of
    other stories — each hit shaped like a ``/search`` hit."""
    source = await _article_source(resources, article_id)
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


@contextlib.contextmanager
def _broker_or_503() -> Iterator[None]:
    try:
        yield
    except BrokerError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the broker is unavailable; retry later"
        ) from exc


@router.post("/articles", status_code=status.HTTP_202_ACCEPTED, response_model=ArticleAccepted)
async def post_article(
    resources: ResourcesDep, _: WriteKeyDep, submission: ArticleSubmission
) -> ArticleAccepted:
    """Submit one article to the pipeline; answers with its stable id.

    The request's span opens the article's trace (the request is about this article alone).
    """
    article = submission.to_raw()
    with _broker_or_503():
        await resources.publisher.publish(article)
    return ArticleAccepted(id=article.id)


@router.post("/articles/batch", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted)
async def post_articles(
    resources: ResourcesDep, _: WriteKeyDep, submissions: list[ArticleSubmission]
) -> Accepted:
    """Submit 1 to 500 articles at once.

    Each article gets a trace of its own, linked to this request's span.
    """
    if not 1 <= len(submissions) <= MAX_BATCH:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"a batch holds 1 to {MAX_BATCH} articles"
        )
    articles = [submission.to_raw() for submission in submissions]
    with _broker_or_503():
        await resources.publisher.publish_many(articles)
    return Accepted(ids=[article.id for article in articles])
