"""``GET /search``: text, names and meaning in any script, filters, facets and cursor paging.

The query is read through the knowledge base (:mod:`services.api.resolve`) so a name matches in
every script, and embedded (:mod:`shared.vectors`) so its meaning matches in every language;
the requests are built in :mod:`services.api.search` and :mod:`services.api.hybrid` and run by
:mod:`services.api.execute`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from services.api.contract import (
    CURSOR_QUERY,
    FROM_QUERY,
    LANG_QUERY,
    SEARCH_EXAMPLE,
    TO_QUERY,
    EntityIdParam,
    InstantParam,
    LanguageParam,
    SourceParam,
    article_links,
    check_range,
    json_example,
)
from services.api.deps import SEARCH_ERRORS, ReadKeyDep, ResourcesDep
from services.api.execute import perform_search
from services.api.hybrid import SearchMode
from services.api.resolve import QueryTooLongError
from services.api.search import Interval, SearchParams
from shared.models import EntityType, SearchResponse

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    response_model=SearchResponse,
    responses={
        **SEARCH_ERRORS,
        **json_example(SEARCH_EXAMPLE, article_links("$response.body#/hits/0/id")),
    },
)
async def search_articles(
    resources: ResourcesDep,
    _: ReadKeyDep,
    q: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Words in any script. Names of places, organisations and people "
            "match articles in every script (Pakistan = پاکستان = पाकिस्तान).",
            examples=["پاکستان روس"],
        ),
    ] = None,
    lang: Annotated[list[LanguageParam], LANG_QUERY] = [],  # noqa: B006
    entity: Annotated[
        list[EntityIdParam],
        Query(description="Entity ids every article must mention, e.g. geo:PK.", max_length=20),
    ] = [],  # noqa: B006
    entity_type: Annotated[
        list[EntityType],
        Query(description="Articles mentioning an entity of any of these types.", max_length=4),
    ] = [],  # noqa: B006
    source: Annotated[
        list[SourceParam], Query(description="Source names (feeds, sites).", max_length=20)
    ] = [],  # noqa: B006
    published_from: Annotated[InstantParam | None, FROM_QUERY] = None,
    published_to: Annotated[InstantParam | None, TO_QUERY] = None,
    size: Annotated[int, Query(ge=1, le=100, description="Hits per page.")] = 10,
    sort: Annotated[
        Literal["relevance", "date"], Query(description="date = newest first.")
    ] = "relevance",
    cursor: Annotated[str | None, CURSOR_QUERY] = None,
    facets: Annotated[
        bool, Query(description="Include aggregations over all matching articles.")
    ] = True,
    interval: Annotated[Interval, Query(description="Date histogram interval.")] = "day",
    mode: Annotated[
        SearchMode,
        Query(
            description="hybrid: words and entities fused with meaning (an English word finds "
            "Urdu and Hindi articles about it); lexical: words and entities only; semantic: "
            "meaning only. Hybrid and semantic pages end after 100 hits."
        ),
    ] = "hybrid",
    collapse: Annotated[
        Literal["story"] | None,
        Query(description="story: one hit per story (its best article), total counts stories."),
    ] = None,
) -> SearchResponse:
    """Search articles by text and names in any script, with filters and facets."""
    check_range(published_from, published_to)
    settings = resources.settings
    try:
        resolved = resources.resolver.resolve(q, settings.api_max_query_words) if q else None
    except QueryTooLongError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    params = SearchParams(
        q=q,
        resolved=resolved,
        languages=tuple(lang),
        entities=tuple(entity),
        entity_types=tuple(entity_type),
        sources=tuple(source),
        published_from=published_from,
        published_to=published_to,
        size=min(size, settings.api_max_page_size),
        sort=sort,
        cursor=cursor,
        facets=facets,
        interval=interval,
    )
    return await perform_search(resources, params, mode, collapse == "story")
