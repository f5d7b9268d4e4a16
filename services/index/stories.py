"""Stories: the same event covered in Urdu, Hindi and English is one ``story_id``.

As a batch is indexed, each article with a vector looks for its nearest neighbours already in
the index (approximate kNN on ``vector``, inside a time window around its own date) and among
the batch's earlier articles. The closest one that is similar enough joins it to that
neighbour's story; otherwise the article starts a story of its own (``story_id`` = its id).

- *Similar enough*: cosine similarity at or above ``min_similarity``, or at or above the lower
  ``entity_similarity`` when the two articles share at least ``min_shared_entities`` entity ids
  (the same people, places and organisations, in any script).
- *Stable under redelivery*: an article already in the index keeps the story it was given, so a
  redelivered article always lands in the same story.
- Articles without a vector (empty or junk text, the ``no_vector`` flag) are stories of one.

The defaults were chosen on the shared NTREX stories for precision over recall: the static
vectors place a story's versions near each other for search (top 5), but separate one story from
the next less sharply than a same-story decision needs (``make eval-search`` reports the links'
precision and recall).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from elasticsearch import AsyncElasticsearch

from shared.models import EnrichedArticle

#: Neighbours asked of the index per article; the best qualifying one wins (the closest
#: usually: more only cost the search server, which also serves the readers).
NEIGHBOURS = 5
#: kNN searches per ``_msearch`` round trip, and how many the server runs at once: a 500-article
#: bulk batch must not flood a small search server with 500 concurrent searches.
SEARCHES_PER_CALL = 100
CONCURRENT_SEARCHES = 4


@dataclass(frozen=True, slots=True)
class StoryPolicy:
    """When two articles are one story."""

    min_similarity: float = 0.70
    entity_similarity: float = 0.60
    min_shared_entities: int = 2
    window_hours: float = 72.0

    def joins(self, similarity: float, mine: frozenset[str], theirs: frozenset[str]) -> bool:
        """Whether a neighbour this similar, with these entity ids, is the same story."""
        if similarity >= self.min_similarity:
            return True
        shared = len(mine & theirs)
        return similarity >= self.entity_similarity and shared >= self.min_shared_entities


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An article a new one may join: its story, entity ids and cosine similarity."""

    id: str
    story_id: str
    entity_ids: frozenset[str]
    similarity: float


def _when(article: EnrichedArticle) -> datetime:
    return article.published_at or article.ingested_at


def _entity_ids(article: EnrichedArticle) -> frozenset[str]:
    return frozenset(entity.id for entity in article.entities)


def knn_request(article: EnrichedArticle, policy: StoryPolicy) -> dict[str, Any]:
    """One article's neighbour search (an ``_msearch`` body), inside the time window."""
    assert article.vector is not None
    window = timedelta(hours=policy.window_hours)
    when = _when(article)
    in_window = {
        "bool": {
            "should": [
                {
                    "range": {
                        "published_at": {
                            "gte": (when - window).isoformat(),
                            "lte": (when + window).isoformat(),
                        }
                    }
                },
                {
                    "bool": {
                        "must_not": {"exists": {"field": "published_at"}},
                        "filter": {
                            "range": {
                                "ingested_at": {
                                    "gte": (when - window).isoformat(),
                                    "lte": (when + window).isoformat(),
                                }
                            }
                        },
                    }
                },
            ],
            "minimum_should_match": 1,
            "must_not": {"ids": {"values": [article.id]}},
        }
    }
    return {
        "knn": {
            "field": "vector",
            "query_vector": article.vector,
            "k": NEIGHBOURS,
            "num_candidates": NEIGHBOURS * 6,
            "filter": in_window,
        },
        "size": NEIGHBOURS,
        "_source": ["id", "story_id", "entity_ids"],
    }


def read_neighbours(response: dict[str, Any]) -> list[Neighbour]:
    """Neighbours from one kNN answer (Elasticsearch scores cosine as ``(1 + cos) / 2``)."""
    found = []
    for hit in response.get("hits", {}).get("hits", []):
        source = hit.get("_source", {})
        found.append(
            Neighbour(
                id=str(source.get("id", hit["_id"])),
                story_id=str(source.get("story_id") or source.get("id", hit["_id"])),
                entity_ids=frozenset(source.get("entity_ids") or ()),
                similarity=2.0 * float(hit["_score"]) - 1.0,
            )
        )
    return found


Search = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


class StoryAssigner:
    """Gives every article of a batch its ``story_id`` (see the module docstring)."""

    def __init__(
        self,
        es: Callable[[], AsyncElasticsearch],
        index: str,
        policy: StoryPolicy | None = None,
    ) -> None:
        self._es = es
        self.index = index
        self.policy = policy or StoryPolicy()

    async def assign(self, articles: Sequence[EnrichedArticle]) -> list[str]:
        """Each article's story id, in order."""
        known = await self._known_stories([a.id for a in articles])
        to_place = [a for a in articles if a.id not in known and a.vector is not None]
        neighbours = dict(
            zip([a.id for a in to_place], await self._neighbours(to_place), strict=True)
        )
        stories: list[str] = []
        placed: list[tuple[EnrichedArticle, str]] = []
        for article in articles:
            story = known.get(article.id)
            if story is None and article.vector is not None:
                candidates = neighbours[article.id] + self._in_batch(article, placed)
                story = self._choose(article, candidates)
            story = story or article.id
            stories.append(story)
            placed.append((article, story))
        return stories

    def _choose(self, article: EnrichedArticle, candidates: list[Neighbour]) -> str | None:
        mine = _entity_ids(article)
        for neighbour in sorted(candidates, key=lambda n: -n.similarity):
            if neighbour.id != article.id and self.policy.joins(
                neighbour.similarity, mine, neighbour.entity_ids
            ):
                return neighbour.story_id
        return None

    def _in_batch(
        self, article: EnrichedArticle, placed: list[tuple[EnrichedArticle, str]]
    ) -> list[Neighbour]:
        """The batch's earlier articles as neighbours (the index cannot see them yet)."""
        assert article.vector is not None
        window = timedelta(hours=self.policy.window_hours)
        mine = np.asarray(article.vector, dtype=np.float32)
        found = []
        for other, story in placed:
            if other.vector is None or abs(_when(other) - _when(article)) > window:
                continue
            similarity = float(mine @ np.asarray(other.vector, dtype=np.float32))
            found.append(Neighbour(other.id, story, _entity_ids(other), similarity))
        return found

    async def _known_stories(self, ids: list[str]) -> dict[str, str]:
        """Stories of the articles already indexed (redelivered ones keep theirs)."""
        if not ids:
            return {}
        response = await self._es().mget(index=self.index, ids=ids, source=["story_id"])
        return {
            doc["_id"]: str(doc["_source"]["story_id"])
            for doc in response["docs"]
            if doc.get("found") and doc.get("_source", {}).get("story_id")
        }

    async def _neighbours(self, articles: list[EnrichedArticle]) -> list[list[Neighbour]]:
        if not articles:
            return []
        found: list[list[Neighbour]] = []
        for start in range(0, len(articles), SEARCHES_PER_CALL):
            searches: list[dict[str, Any]] = []
            for article in articles[start : start + SEARCHES_PER_CALL]:
                searches.extend(({}, knn_request(article, self.policy)))
            response = await self._es().msearch(
                index=self.index, searches=searches, max_concurrent_searches=CONCURRENT_SEARCHES
            )
            found.extend(
                [] if "error" in answer else read_neighbours(answer)
                for answer in response["responses"]
            )
        return found
