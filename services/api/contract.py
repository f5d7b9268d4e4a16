"""Request parameter types and response examples shared by the gateway's routes.

Parameters are constrained where they are declared (pattern, length), so a malformed value is a
422 naming the parameter instead of a query the search server rejects, and the OpenAPI document
tells consumers the rules. Examples are built from the contract models, so they cannot drift
from the schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from pydantic import StringConstraints

from shared.models import (
    DateBucket,
    EntityBucket,
    EntityDetail,
    EntitySuggestion,
    EntitySuggestions,
    EntitySummary,
    FacetBucket,
    QueryTerm,
    SearchFacets,
    SearchHit,
    SearchResponse,
)

LanguageParam = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
EntityIdParam = Annotated[
    str, StringConstraints(pattern=r"^[a-z]+:[A-Za-z0-9_.\-]{1,120}$", max_length=130)
]
SourceParam = Annotated[str, StringConstraints(min_length=1, max_length=200)]

LANG_QUERY = Query(description="Language codes (ISO 639-1), e.g. ur, hi, en.", max_length=20)
FROM_QUERY = Query(alias="from", description="Published at or after (ISO 8601).")
TO_QUERY = Query(alias="to", description="Published at or before (ISO 8601).")
CURSOR_QUERY = Query(max_length=500, description="next_cursor of the previous page.")


def check_range(start: datetime | None, end: datetime | None) -> None:
    """Refuse a date range that ends before it starts (400 with the reason)."""
    if start is None or end is None:
        return
    aware = [d if d.tzinfo else d.replace(tzinfo=UTC) for d in (start, end)]
    if aware[0] > aware[1]:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "'from' is after 'to'")


_PK = EntitySummary(id="geo:PK", name="Pakistan", type="LOC")
_RU = EntitySummary(id="geo:RU", name="Russia", type="LOC")
_WHEN = datetime(2025, 3, 5, tzinfo=UTC)

SEARCH_EXAMPLE: dict[str, Any] = SearchResponse(
    total=1,
    hits=[
        SearchHit(
            id="0123456789abcdef0123456789abcdef",
            title="पाकिस्तान और रूस के बीच आतंकवाद विरोधी वार्ता",
            language="hi",
            script="Deva",
            source="example-news",
            published_at=_WHEN,
            entities=[_PK, _RU],
            score=4.2,
            highlight={
                "title": ["<mark>पाकिस्तान</mark> और <mark>रूस</mark> के बीच आतंकवाद विरोधी वार्ता"]
            },
        )
    ],
    next_cursor=None,
    took_ms=3,
    facets=SearchFacets(
        languages=[FacetBucket(key="hi", count=1)],
        sources=[FacetBucket(key="example-news", count=1)],
        entity_types=[FacetBucket(key="LOC", count=1)],
        entities={"LOC": [EntityBucket(id="geo:PK", name="Pakistan", type="LOC", count=1)]},
        published=[DateBucket(date=_WHEN, count=1)],
    ),
    interpretation=[
        QueryTerm(text="پاکستان", entity_ids=["geo:PK"], via="kb"),
        QueryTerm(text="روس", entity_ids=["geo:RU"], via="kb"),
    ],
).model_dump(mode="json")

SUGGESTIONS_EXAMPLE: dict[str, Any] = EntitySuggestions(
    items=[
        EntitySuggestion(
            id="geo:PK",
            name="Pakistan",
            type="LOC",
            names={"en": "Pakistan", "ur": "پاکستان", "hi": "पाकिस्तान"},
            linked=True,
            article_count=12,
        )
    ]
).model_dump(mode="json")

ENTITY_EXAMPLE: dict[str, Any] = EntityDetail(
    id="per:nblmnr",
    type="PER",
    name="Nabil Munir",
    names={"hi": "नबील मुनीर", "ur": "نبیل منیر"},
    linked=False,
    article_count=2,
    languages=[FacetBucket(key="hi", count=1), FacetBucket(key="ur", count=1)],
    co_occurring=[EntityBucket(id="geo:PK", name="Pakistan", type="LOC", count=2)],
    timeline=[DateBucket(date=_WHEN, count=2)],
).model_dump(mode="json")


def json_example(example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI ``responses`` entry giving the 200 answer an example."""
    return {200: {"content": {"application/json": {"example": example}}}}
