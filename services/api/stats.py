"""``GET /stats``: the figures a dashboard polls — volume per language and day, per source, and
the pipeline's health as the broker sees it (dead letters, lag).

Index figures come from one ``size: 0`` search with aggregations (cheap on real Elasticsearch
and on the local server alike); broker figures from :class:`services.api.broker.BrokerStats`,
cached for a few seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.contract import json_example
from services.api.deps import SEARCH_ERRORS, ReadKeyDep, ResourcesDep, run_search, total_hits
from services.api.search import FACET_SIZE, buckets, date_histogram, facet_buckets, story_count
from shared.models import LanguageDay, PipelineStats, StatsResponse

router = APIRouter(tags=["stats"])

STATS_EXAMPLE = StatsResponse(
    total_articles=3,
    days=30,
    per_language_per_day=[
        LanguageDay(date=datetime(2025, 3, 5, tzinfo=UTC), language="hi", count=2, stories=1),
        LanguageDay(date=datetime(2025, 3, 5, tzinfo=UTC), language="ur", count=1, stories=1),
    ],
    per_language=facet_buckets({"buckets": [{"key": "hi", "doc_count": 2}]}),
    per_source=facet_buckets({"buckets": [{"key": "example-news", "doc_count": 3}]}),
    pipeline=PipelineStats(dead_letters=0, lag={"khabar-enrich": 0, "khabar-index": 0}),
    generated_at=datetime(2025, 3, 6, tzinfo=UTC),
).model_dump(mode="json")


@router.get(
    "/stats",
    response_model=StatsResponse,
    responses={**SEARCH_ERRORS, **json_example(STATS_EXAMPLE)},
)
async def get_stats(
    resources: ResourcesDep,
    _: ReadKeyDep,
    days: Annotated[
        int, Query(ge=1, le=366, description="Days of per-day figures, ending today (UTC).")
    ] = 30,
) -> StatsResponse:
    """Articles per language per day and per source, dead letters and pipeline lag."""
    now = datetime.now(UTC)
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    response = await run_search(
        resources,
        {
            "query": {"match_all": {}},
            "size": 0,
            "track_total_hits": True,
            "aggs": {
                "languages": {"terms": {"field": "language", "size": FACET_SIZE}},
                "sources": {"terms": {"field": "source", "size": FACET_SIZE * 2}},
                "recent": {
                    "filter": {"range": {"published_at": {"gte": since.isoformat()}}},
                    "aggs": {
                        "languages": {
                            "terms": {"field": "language", "size": FACET_SIZE},
                            "aggs": {"days": date_histogram("published_at", "day", stories=True)},
                        }
                    },
                },
            },
        },
    )
    aggregations = (response or {}).get("aggregations", {})
    per_day = [
        LanguageDay(
            date=datetime.fromtimestamp(day["key"] / 1000, UTC),
            language=str(language["key"]),
            count=int(day["doc_count"]),
            stories=story_count(day) or 0,
        )
        for language in buckets(aggregations.get("recent", {}).get("languages"))
        for day in buckets(language.get("days"))
    ]
    return StatsResponse(
        total_articles=total_hits(response),
        days=days,
        per_language_per_day=sorted(per_day, key=lambda d: (d.date, d.language)),
        per_language=facet_buckets(aggregations.get("languages")),
        per_source=facet_buckets(aggregations.get("sources")),
        pipeline=await resources.broker.snapshot(),
        generated_at=now,
    )
