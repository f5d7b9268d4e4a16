"""Stories merge on the real search server with the real headline encoder: an article as close to
two stories as to each other joins them into one, and every member already indexed is relabelled
(read back page by page from the index).

The test uses an alias of its own, so the running chain's index is never touched.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.index import stories
from services.index.stories import Placement, StoryAssigner, encoder_for, story_document
from services.localstack import LocalStack
from shared.elastic import ensure_index, make_client, versioned_index
from shared.models import EnrichedArticle
from shared.settings import IndexSettings
from shared.story_vectors import shared_story_encoder
from shared.vectors import shared_embedder

pytestmark = pytest.mark.integration

T0 = datetime(2025, 7, 1, 6, 0, tzinfo=UTC)
# Written for this test: one headline, told four times.
HEADLINE = "Floods close schools across Sindh for a week"


def _article(n: int) -> EnrichedArticle:
    return EnrichedArticle(
        id=f"{n:032x}",
        title=HEADLINE,
        body="Heavy monsoon rain flooded Hyderabad and Sukkur.",
        language="en",
        published_at=T0 + timedelta(hours=n),
    )


async def _merge(url: str) -> dict[str, str]:
    """Two stories in the index (one article, and three); a fifth article close to both."""
    es = make_client(IndexSettings(elasticsearch_url=url))
    alias = f"st-{uuid.uuid4().hex[:8]}"
    try:
        await ensure_index(es, alias, shared_embedder().dims)
        encode = encoder_for(shared_story_encoder())
        first, *others = [_article(n) for n in (1, 2, 3, 4)]
        vector = (await encode([first]))[0]
        operations = []
        for article, story in ((first, first.id), *((a, others[0].id) for a in others)):
            document = story_document(article, Placement(story, vector))
            operations.extend(({"index": {"_index": alias, "_id": article.id}}, document))
        await es.bulk(operations=operations, refresh="wait_for")
        assigner = StoryAssigner(lambda: es, alias, encode)
        [placed] = await assigner.assign([_article(5)])
        await es.indices.refresh(index=alias)
        found = await es.search(index=alias, size=10, source=["id", "story_id"])
        return {
            "placed": placed.story_id,
            **{hit["_id"]: hit["_source"]["story_id"] for hit in found["hits"]["hits"]},
        }
    finally:
        await es.indices.delete(index=versioned_index(alias), ignore_unavailable=True)
        await es.close()


def test_an_article_close_to_two_stories_merges_them_in_the_index(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stories, "MERGE_PAGE", 2)  # the three members come back over two pages
    result = asyncio.run(_merge(stack.elasticsearch_url))
    first = _article(1).id
    assert result == {"placed": first, **{_article(n).id: first for n in (1, 2, 3, 4)}}
