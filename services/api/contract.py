"""Request parameter types and response examples shared by the gateway's routes.

Parameters are constrained where they are declared (pattern, length), so a malformed value is a
422 naming the parameter instead of a query the search server rejects, and the OpenAPI document
tells consumers the rules. Examples are built from the contract models, so they cannot drift
from the schema.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query, status
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    StringConstraints,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from shared.models import (
    ArticleSubmission,
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

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    """Let through only what the document's ``format: date-time`` allows (RFC 3339: a date, a
    time and an offset): pydantic alone would also read ``1e3`` as a timestamp and
    ``2025-03-05`` as midnight, inputs the document calls invalid."""
    if not isinstance(value, datetime) and not (
        isinstance(value, str) and _RFC3339.fullmatch(value)
    ):
        raise ValueError("expected an RFC 3339 date-time with an offset, e.g. 2025-03-05T08:00:00Z")
    return value


def in_utc(value: datetime) -> datetime:
    """The same instant in UTC; the first or last representable instant when it falls outside.

    RFC 3339 allows offsets up to ±23:59, Elasticsearch (java.time) only ±18:00, so instants
    travel in UTC; 0001-01-01T00:00:00+01:00 has no UTC form, and as a bound it means "since
    the beginning" anyway.
    """
    try:
        return value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year < 2 else datetime.max
        return edge.replace(tzinfo=UTC)


#: An instant in a query: an RFC 3339 date-time with its offset, read as UTC.
InstantParam = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(in_utc)]


def _strict_submission(value: object) -> object:
    """Refuse a ``published_at`` that is not an RFC 3339 string, naming the field."""
    if not isinstance(value, dict) or value.get("published_at") is None:
        return value
    try:
        _rfc3339(value["published_at"])
    except ValueError as exc:
        error = PydanticCustomError("datetime_format", str(exc))
        detail = InitErrorDetails(type=error, loc=("published_at",), input=value["published_at"])
        raise ValidationError.from_exception_data("ArticleSubmission", [detail]) from exc
    return value


def _submission_in_utc(submission: ArticleSubmission) -> ArticleSubmission:
    if submission.published_at is None:
        return submission
    return submission.model_copy(update={"published_at": in_utc(submission.published_at)})


#: A submitted article as the document describes it: ``published_at`` an RFC 3339 string (not a
#: number read as a timestamp), kept in UTC (an offset beyond ±18:00 would fail at the index).
SubmissionBody = Annotated[
    ArticleSubmission, BeforeValidator(_strict_submission), AfterValidator(_submission_in_utc)
]


LANG_QUERY = Query(description="Language codes (ISO 639-1), e.g. ur, hi, en.", max_length=20)
FROM_QUERY = Query(
    alias="from", description="Published at or after (RFC 3339, e.g. 2025-03-05T00:00:00Z)."
)
TO_QUERY = Query(
    alias="to", description="Published at or before (RFC 3339, e.g. 2025-03-05T23:59:59Z)."
)
#: A page cursor: base64url, and only ever one this gateway issued (``next_cursor``).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CURSOR_QUERY = Query(
    max_length=500,
    pattern=CURSOR_PATTERN,
    description="next_cursor of the previous page, unchanged (a cursor this gateway did not "
    "issue for the same search is a 400).",
)


def check_range(start: datetime | None, end: datetime | None) -> None:
    """Refuse a date range that ends before it starts (400 with the reason)."""
    if start is None or end is None:
        return
    if start > end:
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


def json_example(
    example: dict[str, Any], links: dict[str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI ``responses`` entry giving the 200 answer an example (and any links)."""
    entry: dict[str, Any] = {"content": {"application/json": {"example": example}}}
    if links:
        entry["links"] = links
    return {200: entry}


def article_links(id_expression: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links from an answer naming an article (its id at ``id_expression``, a runtime
    expression) to the article and to what is related to it: the chains a client follows, and
    schemathesis's stateful phase with it."""
    parameters = {"article_id": id_expression}
    return {
        "GetArticle": {"operationId": "get_article", "parameters": parameters},
        "GetRelated": {"operationId": "get_related", "parameters": parameters},
    }


def entity_links(id_expression: str) -> dict[str, dict[str, Any]]:
    """OpenAPI links from an answer naming an entity to its profile and its articles."""
    parameters = {"entity_id": id_expression}
    return {
        "GetEntity": {"operationId": "get_entity", "parameters": parameters},
        "ListEntityArticles": {"operationId": "list_entity_articles", "parameters": parameters},
    }
