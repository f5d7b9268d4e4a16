"""Stories: the same event covered in Urdu, Hindi and English is one ``story_id``.

As a batch is indexed, each new article gets its *story vector* (its headline through the
contextual encoder, :mod:`shared.story_vectors`; stored as ``story_vector``), then looks for its
nearest neighbours already in the index (approximate kNN on ``story_vector``, inside a time
window around its own date) and among the articles this worker placed last (:class:`Recent`:
the batch's earlier articles and the batches before, which the index shows only after its next
refresh). The closest one that is similar enough joins it to that neighbour's story; otherwise
the article starts a story of its own (``story_id`` = its id). When the article is similar
enough to articles of two or more stories, those stories merge into one (the smallest id): the
members of the others already written are relabelled (partial updates, before the batch is
written), so a story's versions end up together whatever order they arrive in.

- *Similar enough*: cosine similarity at or above ``min_similarity``, or at or above the lower
  ``entity_similarity`` when the two articles share at least ``min_shared_entities`` entity ids
  (the same people, places and organisations, in any script). Two articles that both name
  entities but share none need ``unshared_similarity``: two arrests in different towns, or two
  football results, read alike to the encoder; their places and teams tell them apart.
- *Stable under redelivery*: an article already in the index keeps the story and the story
  vector it was given (read back, not encoded again), so a redelivered article always lands in
  the same story (the one it was relabelled into, if its story has merged since).
- Articles without a story vector (no letters in the headline or lead) are stories of one.

The defaults (0.60; 0.52 with two shared entity ids; 0.65 with none shared) were chosen with
``make eval-stories`` (``tools/eval_stories.py``: this class over 20 arrival orders of the shared
NTREX stories) on one half of the events and held on the other. With 0.60 and 0.50 alone, the
whole set gave pairwise precision 0.865-1.0 (below 0.95 in 7 of 20 orders: a rugby score joined
a football one, two arrest stories, a Kanye West item a Trump rally); with these, 1.0 in every
order on each half and on the whole set, recall 0.60-0.80 (0.63-0.83 before), and with merging
recall 0.856 in every order (choose half 0.836, hold half 0.889), precision still 1.0.
``make eval-search`` measures the links through the product.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from cachetools import LRUCache
from elasticsearch import AsyncElasticsearch
from prometheus_client import Counter

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
#: Members of a merged story read per search page, and the merges a worker remembers (the
#: index shows a relabelled member ~1 s later; a neighbour read meanwhile still names the old
#: story).
MERGE_PAGE = 1000
MERGES_REMEMBERED = 4096

log = logging.getLogger(__name__)

PLACED = Counter(
    "index_story_placements_total",
    "New articles placed: joined an earlier story, or started one of their own",
    ["outcome"],
)
MERGES = Counter("index_story_merges_total", "Stories merged into another by an article")
RELABELLED = Counter(
    "index_story_relabelled_total", "Indexed articles moved into the story theirs merged into"
)


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
    before the index's refresh (~1 s). The memory also names the articles of a merged story
    that the index does not show yet, so they are relabelled too.
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

    def relabel(self, story_id: str, into: str) -> list[str]:
        """Move the remembered members of ``story_id`` into story ``into``; their ids."""
        moved = []
        for slot, (placed, dated) in enumerate(self._placed):
            if placed.story_id == story_id:
                self._placed[slot] = (replace(placed, story_id=into), dated)
                moved.append(placed.id)
        return moved


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


class _Merges:
    """The stories one batch merged: each into the smallest id of those an article linked."""

    def __init__(self, earlier: LRUCache[str, str]) -> None:
        self._earlier = earlier
        self._into: dict[str, str] = {}
        #: merged story -> the ids of its members this worker remembered
        self.moved: dict[str, list[str]] = {}

    def resolve(self, story_id: str) -> str:
        """The story ``story_id`` is part of now."""
        seen = set()
        while story_id not in seen and (
            (into := self._into.get(story_id) or self._earlier.get(story_id)) is not None
        ):
            seen.add(story_id)
            story_id = into
        return story_id

    def join(self, stories: list[str], recent: Recent) -> str:
        """The one story ``stories`` become (each other one merged into it)."""
        distinct = sorted({self.resolve(story) for story in stories})
        target = distinct[0]
        for story in distinct[1:]:
            self._into[story] = target
            self.moved[story] = recent.relabel(story, target)
        return target

    def final(self) -> dict[str, str]:
        """Every story merged in this batch -> the story it is part of at the end."""
        return {story: self.resolve(story) for story in self._into}


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
        #: stories merged into others lately: old id -> the story it joined
        self.merged: LRUCache[str, str] = LRUCache(MERGES_REMEMBERED)

    async def assign(self, articles: Sequence[EnrichedArticle]) -> list[Placement]:
        """Each article's story and story vector, in order. Stories an article links merge
        into one (the smallest id), their members already in the index relabelled first."""
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
        merges = _Merges(self.merged)
        placements = []
        for article in articles:
            placement = known.get(article.id)
            # a new article's vector, or a known one's stored vector; converted once
            vector = vectors[article.id] if placement is None else placement.vector
            mine = None if vector is None else np.asarray(vector, dtype=np.float32)
            if placement is None:
                stories: list[str] = []
                if mine is not None:
                    candidates = neighbours[article.id] + self.recent.near(
                        article, mine, floor, window
                    )
                    stories = self._linked(article, candidates)
                story = merges.join(stories, self.recent) if stories else article.id
                PLACED.labels("joined" if stories else "new").inc()
                placement = Placement(story, vector)
            if mine is not None:
                self.recent.add(article, placement.story_id, mine)
            placements.append(placement)
        await self._relabel(merges, {a.id for a in articles})
        return [replace(p, story_id=merges.resolve(p.story_id)) for p in placements]

    def _linked(self, article: EnrichedArticle, candidates: list[Neighbour]) -> list[str]:
        """The stories of the candidates similar enough to join, closest first."""
        mine = _entity_ids(article)
        return [
            neighbour.story_id
            for neighbour in sorted(candidates, key=lambda n: -n.similarity)
            if neighbour.id != article.id
            and self.policy.joins(neighbour.similarity, mine, neighbour.entity_ids)
        ]

    async def _relabel(self, merges: _Merges, batch: set[str]) -> None:
        """Write each merged story's members (not this batch's) under the story they joined."""
        into: dict[str, str] = {}  # member -> its story at the end (once, over chained merges)
        for old in merges.moved:
            for member in [*merges.moved[old], *await self._members(old)]:
                into[member] = merges.resolve(old)
        operations: list[dict[str, Any]] = []
        for member in sorted(into.keys() - batch):
            operations.append({"update": {"_index": self.index, "_id": member}})
            operations.append({"doc": {"story_id": into[member]}})
        if operations:
            response = await self._es().bulk(operations=operations, refresh=False)
            statuses = [item["update"].get("status", 500) for item in response["items"]]
            RELABELLED.inc(sum(status < 300 for status in statuses))
            refused = [s for s in statuses if s >= 300 and s != 404]  # 404: deleted meanwhile
            if refused:  # those keep their old story; the next link to it tries again
                log.warning("story relabel refused", extra={"refused": len(refused)})
        final = merges.final()
        self.merged.update(final)
        MERGES.inc(len(final))

    async def _members(self, story_id: str) -> list[str]:
        """Ids of the indexed articles of ``story_id`` (every page)."""
        ids: list[str] = []
        after: list[Any] | None = None
        while True:
            response = await self._es().search(
                index=self.index,
                query={"term": {"story_id": story_id}},
                size=MERGE_PAGE,
                sort=[{"id": "asc"}],
                source=False,
                search_after=after,
            )
            hits = response["hits"]["hits"]
            ids.extend(hit["_id"] for hit in hits)
            if len(hits) < MERGE_PAGE:
                return ids
            after = hits[-1]["sort"]

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
