"""Stories: the same event covered in Urdu, Hindi and English is one ``story_id``.

As a batch is indexed, each new article gets its *story vector* (its headline through the
contextual encoder, :mod:`shared.story_vectors`; stored as ``story_vector``), then looks for its
nearest neighbours already in the index (approximate kNN on ``story_vector``, inside a time
window around its own date) and among the articles this worker placed last (:class:`Recent`:
the batch's earlier articles and the batches before, which the index shows only after its next
refresh). The closest one that is similar enough joins it to that neighbour's story; otherwise
the article starts a story of its own (``story_id`` = its id).

- *Similar enough*: cosine similarity at or above ``min_similarity``, or at or above the lower
  ``entity_similarity`` when the two articles share at least ``min_shared_entities`` entity ids
  (the same people, places and organisations, in any script). Two articles that both name
  entities but share none need ``unshared_similarity``: two arrests in different towns, or two
  football results, read alike to the encoder; their places and teams tell them apart.
- *Stable under redelivery*: an article already in the index keeps the story and the story
  vector it was given (read back, not encoded again), so a redelivered article always lands in
  the same story.
- Articles without a story vector (no letters in the headline or lead) are stories of one.

The defaults (0.60; 0.52 with two shared entity ids; 0.65 with none shared) were chosen with
``make eval-stories`` (``tools/eval_stories.py``: this class over 20 arrival orders of the shared
NTREX stories) on one half of the events and held on the other. With 0.60 and 0.50 alone, the
whole set gave pairwise precision 0.865-1.0 (below 0.95 in 7 of 20 orders: a rugby score joined
a football one, two arrest stories, a Kanye West item a Trump rally); with these, 1.0 in every
order on each half and on the whole set, recall 0.60-0.80 (0.63-0.83 before).
``make eval-search`` measures the links through the product.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from elasticsearch import AsyncElasticsearch

from shared.elastic import article_document
from shared.models import EnrichedArticle
from shared.story_vectors import StoryEncoder, headline

#: Neighbours asked of the index per article; the best qualifying one wins (the closest
#: usually: more only cost the search server, which also serves the readers).
NEIGHBOURS = 5
#: kNN searches per ``_msearch`` round trip, and how many the server runs at once: a 500-article
#: bulk batch must not flood a small search server with 500 concurrent searches.
SEARCHES_PER_CALL = 100
CONCURRENT_SEARCHES = 4
#: Placements a worker keeps to compare new articles with: more than a refresh interval's worth
#: at any rate the worker reaches (the index shows a write ~1 s later).
RECENT = 2048


@dataclass(frozen=True, slots=True)
class StoryPolicy:
    """When two articles are one story."""

    min_similarity: float = 0.60
    entity_similarity: float = 0.52
    min_shared_entities: int = 2
    #: two articles that both name entities but share none: the similarity needed
    unshared_similarity: float = 0.65
    window_hours: float = 72.0

    def joins(self, similarity: float, mine: frozenset[str], theirs: frozenset[str]) -> bool:
        """Whether a neighbour this similar, with these entity ids, is the same story."""
        shared = len(mine & theirs)
        if mine and theirs and not shared:
            return similarity >= max(self.min_similarity, self.unshared_similarity)
        if similarity >= self.min_similarity:
            return True
        return similarity >= self.entity_similarity and shared >= self.min_shared_entities


@dataclass(frozen=True, slots=True)
class Neighbour:
    """An article a new one may join: its story, entity ids and cosine similarity."""

    id: str
    story_id: str
    entity_ids: frozenset[str]
    similarity: float


class Recent:
    """The last ``size`` articles placed, with their story vectors in one matrix.

    A batch used to compare each new article with its own earlier articles only, so two
    versions of one story in consecutive batches did not see each other when the second came
    before the index's refresh (~1 s). Links still depend on the order articles arrive in (each
    joins the story of its best earlier neighbour): ``make eval-search`` gave story-link
    precision 0.944-0.975 and recall 0.68-0.81 over seven runs of one submission, three before
    this memory and four after.
    """

    def __init__(self, size: int = RECENT) -> None:
        self.size = size
        self._vectors: Floats | None = None
        #: slot -> the article (its similarity unset) and its date; grows to ``size``
        self._placed: list[tuple[Neighbour, datetime]] = []
        self._next = 0

    def add(self, article: EnrichedArticle, story_id: str, vector: Floats) -> None:
        """Remember a placed article (the oldest is forgotten once ``size`` are kept)."""
        if self._vectors is None:
            self._vectors = np.zeros((self.size, vector.shape[0]), dtype=np.float32)
        entry = (Neighbour(article.id, story_id, _entity_ids(article), 0.0), _when(article))
        slot = self._next
        self._vectors[slot] = vector
        if slot < len(self._placed):
            self._placed[slot] = entry
        else:
            self._placed.append(entry)
        self._next = (slot + 1) % self.size

    def near(
        self, article: EnrichedArticle, vector: Floats, floor: float, window: timedelta
    ) -> list[Neighbour]:
        """The remembered articles at cosine ``floor`` or more and dated within ``window``."""
        if self._vectors is None:
            return []
        similarities = self._vectors[: len(self._placed)] @ vector
        when = _when(article)
        found = []
        for slot in np.flatnonzero(similarities >= floor).tolist():
            placed, dated = self._placed[slot]
            if placed.id != article.id and abs(dated - when) <= window:
                similarity = float(similarities[slot])
                found.append(Neighbour(placed.id, placed.story_id, placed.entity_ids, similarity))
        return found


def _when(article: EnrichedArticle) -> datetime:
    return article.published_at or article.ingested_at


def _entity_ids(article: EnrichedArticle) -> frozenset[str]:
    return frozenset(entity.id for entity in article.entities)


StoryVector = list[float]
Floats = npt.NDArray[np.float32]


def knn_request(
    article: EnrichedArticle, vector: StoryVector, policy: StoryPolicy
) -> dict[str, Any]:
    """One article's neighbour search (an ``_msearch`` body), inside the time window."""
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
            "field": "story_vector",
            "query_vector": vector,
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
#: Story vectors for a batch of articles, in order (None: nothing to place).
Encode = Callable[[Sequence[EnrichedArticle]], Awaitable[list[StoryVector | None]]]


def encoder_for(encoder: StoryEncoder) -> Encode:
    """Headline vectors from ``encoder``, computed in a worker thread (the engine releases the
    GIL, so the event loop keeps serving health checks and fetches meanwhile)."""

    async def encode(articles: Sequence[EnrichedArticle]) -> list[StoryVector | None]:
        texts = [headline(a.title, a.body) for a in articles]
        languages = [a.language for a in articles]
        vectors = await asyncio.to_thread(encoder.encode, texts, languages)
        return [None if v is None else [float(x) for x in v] for v in vectors]

    return encode


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an article goes: its story, and the story vector to store with it."""

    story_id: str
    vector: StoryVector | None


def story_document(article: EnrichedArticle, placement: Placement) -> dict[str, Any]:
    """The article's document with its story and story vector."""
    document = article_document(article.model_copy(update={"story_id": placement.story_id}))
    if placement.vector is not None:
        document["story_vector"] = placement.vector
    return document


class StoryAssigner:
    """Gives every article of a batch its ``story_id`` (see the module docstring)."""

    def __init__(
        self,
        es: Callable[[], AsyncElasticsearch],
        index: str,
        encode: Encode,
        policy: StoryPolicy | None = None,
    ) -> None:
        self._es = es
        self.index = index
        self._encode = encode
        self.policy = policy or StoryPolicy()
        #: what this worker placed last, which the index may not show yet
        self.recent = Recent()

    async def assign(self, articles: Sequence[EnrichedArticle]) -> list[Placement]:
        """Each article's story and story vector, in order."""
        known = await self._known([a.id for a in articles])
        new = [a for a in articles if a.id not in known]
        vectors = dict(zip([a.id for a in new], await self._encode(new), strict=True))
        to_place = [(a, v) for a in new if (v := vectors[a.id]) is not None]
        neighbours = dict(
            zip([a.id for a, _ in to_place], await self._neighbours(to_place), strict=True)
        )
        policy = self.policy
        floor = min(policy.min_similarity, policy.entity_similarity)
        window = timedelta(hours=policy.window_hours)
        placements = []
        for article in articles:
            placement = known.get(article.id)
            # a new article's vector, or a known one's stored vector; converted once
            vector = vectors[article.id] if placement is None else placement.vector
            mine = None if vector is None else np.asarray(vector, dtype=np.float32)
            if placement is None:
                story = None
                if mine is not None:
                    candidates = neighbours[article.id] + self.recent.near(
                        article, mine, floor, window
                    )
                    story = self._choose(article, candidates)
                placement = Placement(story or article.id, vector)
            if mine is not None:
                self.recent.add(article, placement.story_id, mine)
            placements.append(placement)
        return placements

    def _choose(self, article: EnrichedArticle, candidates: list[Neighbour]) -> str | None:
        mine = _entity_ids(article)
        for neighbour in sorted(candidates, key=lambda n: -n.similarity):
            if neighbour.id != article.id and self.policy.joins(
                neighbour.similarity, mine, neighbour.entity_ids
            ):
                return neighbour.story_id
        return None

    async def _known(self, ids: list[str]) -> dict[str, Placement]:
        """Stories and story vectors of the articles already indexed (redelivered ones keep
        theirs; one indexed before story vectors existed is placed again)."""
        if not ids:
            return {}
        response = await self._es().mget(
            index=self.index, ids=ids, source=["story_id", "story_vector"]
        )
        known = {}
        for doc in response["docs"]:
            source = doc.get("_source", {}) if doc.get("found") else {}
            if source.get("story_id") and source.get("story_vector"):
                known[doc["_id"]] = Placement(str(source["story_id"]), source["story_vector"])
        return known

    async def _neighbours(
        self, articles: list[tuple[EnrichedArticle, StoryVector]]
    ) -> list[list[Neighbour]]:
        if not articles:
            return []
        found: list[list[Neighbour]] = []
        for start in range(0, len(articles), SEARCHES_PER_CALL):
            searches: list[dict[str, Any]] = []
            for article, vector in articles[start : start + SEARCHES_PER_CALL]:
                searches.extend(({}, knn_request(article, vector, self.policy)))
            response = await self._es().msearch(
                index=self.index, searches=searches, max_concurrent_searches=CONCURRENT_SEARCHES
            )
            found.extend(
                [] if "error" in answer else read_neighbours(answer)
                for answer in response["responses"]
            )
        return found
