"""Story assignment with a fake search server and a fake headline encoder (each article's story
vector is given by the test as ``vector``): who joins whom, and what stays put."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.index.stories import (
    Placement,
    Recent,
    StoryAssigner,
    StoryPolicy,
    knn_request,
    story_document,
)
from shared.models import EnrichedArticle, Entity

POLICY = StoryPolicy(
    min_similarity=0.8, entity_similarity=0.6, min_shared_entities=1, window_hours=48
)
T0 = datetime(2025, 5, 3, 9, 0, tzinfo=UTC)


def _unit(angle: float) -> list[float]:
    """A unit vector in the plane at ``angle`` radians: cos(a - b) is the similarity."""
    return [math.cos(angle), math.sin(angle), 0.0]


def _article(
    n: int, angle: float | None, entities: tuple[str, ...] = (), hours: float = 0.0
) -> EnrichedArticle:
    return EnrichedArticle(
        id=f"{n:032x}",
        body=f"article {n}",
        language="ur",
        published_at=T0 + timedelta(hours=hours),
        vector=None if angle is None else _unit(angle),
        entities=[Entity(id=e, type="LOC", name=e) for e in entities],
    )


@dataclass
class FakeIndex:
    """Indexed documents: story ids, entity ids and vectors; kNN by exact cosine."""

    docs: dict[str, dict[str, Any]] = field(default_factory=dict)
    searches: int = 0
    #: the story relabels written: (article id, story id)
    updates: list[tuple[str, str]] = field(default_factory=list)

    def add(self, article: EnrichedArticle, story: str, with_vector: bool = True) -> None:
        self.docs[article.id] = {
            "id": article.id,
            "story_id": story,
            "entity_ids": sorted(e.id for e in article.entities),
            **({"story_vector": article.vector} if with_vector else {}),
        }

    async def mget(self, *, index: str, ids: list[str], source: list[str]) -> dict[str, Any]:
        return {
            "docs": [
                {"_id": i, "found": True, "_source": {k: self.docs[i].get(k) for k in source}}
                if i in self.docs
                else {"_id": i, "found": False}
                for i in ids
            ]
        }

    async def msearch(
        self, *, index: str, searches: list[dict[str, Any]], max_concurrent_searches: int
    ) -> dict[str, Any]:
        responses = []
        for body in searches[1::2]:
            self.searches += 1
            assert body["knn"]["field"] == "story_vector"
            query = body["knn"]["query_vector"]
            hits = [
                {
                    "_id": i,
                    "_score": (1 + sum(a * b for a, b in zip(query, d[field], strict=True))) / 2,
                    "_source": {k: d[k] for k in ("id", "story_id", "entity_ids")},
                }
                for i, d in self.docs.items()
                if (field := "story_vector") in d
            ]
            hits.sort(key=lambda h: -h["_score"])
            responses.append({"hits": {"hits": hits[: body["size"]]}})
        return {"responses": responses}

    async def search(
        self,
        *,
        index: str,
        query: dict[str, Any],
        size: int,
        sort: list[dict[str, str]],
        source: bool,
        search_after: list[Any] | None,
    ) -> dict[str, Any]:
        """The term query on ``story_id`` a merge pages through, sorted by id."""
        story = query["term"]["story_id"]
        ids = sorted(i for i, d in self.docs.items() if d["story_id"] == story)
        ids = [i for i in ids if search_after is None or i > search_after[0]][:size]
        return {"hits": {"hits": [{"_id": i, "sort": [i]} for i in ids]}}

    async def bulk(self, *, operations: list[dict[str, Any]], refresh: bool) -> dict[str, Any]:
        """Partial updates of the documents' stories (404 for one not indexed)."""
        items = []
        for action, change in zip(operations[::2], operations[1::2], strict=True):
            doc = self.docs.get(action["update"]["_id"])
            if doc is not None:
                doc.update(change["doc"])
            self.updates.append((action["update"]["_id"], change["doc"]["story_id"]))
            items.append({"update": {"status": 200 if doc is not None else 404}})
        return {"items": items}


@pytest.fixture
def index() -> FakeIndex:
    return FakeIndex()


@dataclass
class FakeEncoder:
    """Each article's story vector is its test-given ``vector``; counts what it was asked."""

    encoded: list[str] = field(default_factory=list)

    async def __call__(self, articles: Sequence[EnrichedArticle]) -> list[list[float] | None]:
        self.encoded.extend(a.id for a in articles)
        return [a.vector for a in articles]


def _assigner(
    index: FakeIndex, encoder: FakeEncoder | None = None, policy: StoryPolicy = POLICY
) -> StoryAssigner:
    return StoryAssigner(lambda: index, "articles", encoder or FakeEncoder(), policy)  # type: ignore[arg-type, return-value]


async def _stories(assigner: StoryAssigner, articles: list[EnrichedArticle]) -> list[str]:
    return [placement.story_id for placement in await assigner.assign(articles)]


async def test_a_close_neighbour_in_the_index_shares_its_story(index: FakeIndex) -> None:
    first = _article(1, 0.0)
    index.add(first, first.id)
    close, far = _article(2, 0.3), _article(3, 1.2)  # cos 0.955 and 0.362
    assert await _stories(_assigner(index), [close, far]) == [first.id, far.id]


async def test_a_weaker_link_needs_a_shared_entity(index: FakeIndex) -> None:
    first = _article(1, 0.0, entities=("geo:PK",))
    index.add(first, first.id)
    # cos(0.8) = 0.697: between the two thresholds
    sharing = _article(2, 0.8, entities=("geo:PK", "geo:CN"))
    not_sharing = _article(3, 0.8, entities=("geo:IN",))
    without = _article(4, 0.8)
    # each by a worker of its own: one that placed the others would join them
    stories = [(await _stories(_assigner(index), [a]))[0] for a in (sharing, not_sharing, without)]
    assert stories == [first.id, not_sharing.id, without.id]


async def test_articles_naming_different_entities_need_a_closer_match(index: FakeIndex) -> None:
    """Two arrests in different towns read alike; their places tell them apart."""
    first = _article(1, 0.0, entities=("geo:londonderry",))
    index.add(first, first.id)
    policy = StoryPolicy(min_similarity=0.8, unshared_similarity=0.9, window_hours=48)
    # cos(0.55) = 0.853: above min_similarity, below unshared_similarity
    elsewhere = _article(2, 0.55, entities=("geo:midsomer-norton",))
    unnamed = _article(3, 0.55)
    same_town = _article(4, 0.55, entities=("geo:londonderry", "per:x"))
    # each by a worker of its own: one that placed the others would join them
    stories = [
        (await _stories(_assigner(index, policy=policy), [a]))[0]
        for a in (elsewhere, unnamed, same_town)
    ]
    assert stories == [elsewhere.id, first.id, first.id]
    # far closer than that, a missed or differently resolved name does not split a story
    assert policy.joins(0.95, frozenset({"a"}), frozenset({"b"}))


COUNTED = (
    "index_story_merges_total",
    "index_story_relabelled_total",
    "index_story_placements_total",
)


def _count(name: str) -> float:
    labels = {"outcome": "joined"} if name == "index_story_placements_total" else {}
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_article_linking_two_stories_merges_them(index: FakeIndex) -> None:
    left, right = _article(1, -0.45), _article(2, 0.45)  # cos 0.90 to the middle, 0.62 apart
    index.add(left, left.id)
    index.add(right, right.id)
    follower = _article(3, 1.2)  # far from the middle, but one of the right-hand story
    index.add(follower, right.id)
    middle = _article(4, 0.0)
    before = {name: _count(name) for name in COUNTED}
    # the smaller id is the story both become; every member of the other is relabelled
    assert await _stories(_assigner(index), [middle]) == [left.id]
    counted = {name: _count(name) - before[name] for name in COUNTED}
    assert counted == {
        "index_story_merges_total": 1,
        "index_story_relabelled_total": 2,
        "index_story_placements_total": 1,
    }
    assert {i: d["story_id"] for i, d in index.docs.items()} == {
        left.id: left.id,
        right.id: left.id,
        follower.id: left.id,
    }


async def test_stories_merged_in_a_batch_relabel_its_earlier_articles(index: FakeIndex) -> None:
    left, right, middle = _article(2, -0.45), _article(1, 0.45), _article(3, 0.0)
    # left and right start stories of their own; middle links both: all three are one story
    assert await _stories(_assigner(index), [left, right, middle]) == [right.id] * 3
    assert index.updates == []  # nothing of theirs was in the index to relabel


async def test_a_merge_relabels_what_the_worker_wrote_before_the_index_shows_it(
    index: FakeIndex,
) -> None:
    assigner = _assigner(index)
    left, right, middle = _article(1, -0.45), _article(2, 0.45), _article(3, 0.0)
    await assigner.assign([left])
    await assigner.assign([right])  # both written, neither searchable yet
    assert await _stories(assigner, [middle]) == [left.id]
    assert index.updates == [(right.id, left.id)]
    # a neighbour read before the index shows the relabel still names the old story; the
    # worker remembers the merge (not only its placements, forgotten here)
    index.add(right, right.id)
    assigner.recent = Recent()
    late = _article(4, 0.5)
    assert await _stories(assigner, [late]) == [left.id]


async def test_articles_of_one_batch_join_each_other(index: FakeIndex) -> None:
    urdu, hindi, english = _article(1, 0.0), _article(2, 0.1), _article(3, 0.2)
    assert await _stories(_assigner(index), [urdu, hindi, english]) == [urdu.id] * 3


async def test_consecutive_batches_join_before_the_index_shows_the_first(
    index: FakeIndex,
) -> None:
    assigner = _assigner(index)
    urdu, hindi = _article(1, 0.0), _article(2, 0.1)
    first = await _stories(assigner, [urdu])  # written, but not yet searchable (no refresh)
    assert await _stories(assigner, [hindi]) == first == [urdu.id]
    assert index.searches == 2


async def test_a_worker_remembers_only_its_last_placements(index: FakeIndex) -> None:
    assigner = _assigner(index)
    assigner.recent = Recent(size=2)
    old, other, another = _article(1, 0.0), _article(2, 1.5), _article(3, 3.0)
    for article in (old, other, another):
        await assigner.assign([article])
    assert await _stories(assigner, [_article(4, 0.05)]) == [_article(4, 0.05).id]


async def test_a_redelivered_article_keeps_its_story_and_vector(index: FakeIndex) -> None:
    first, second = _article(1, 0.0), _article(2, 0.05)
    index.add(first, first.id)
    index.add(second, "f" * 32)  # given another story when it was first indexed
    encoder = FakeEncoder()
    assert await _assigner(index, encoder).assign([second]) == [Placement("f" * 32, second.vector)]
    assert index.searches == 0  # nothing to look up for an article already placed
    assert encoder.encoded == []  # nor to encode: the stored vector is written back


async def test_an_article_indexed_before_story_vectors_is_placed_again(index: FakeIndex) -> None:
    first, second = _article(1, 0.0), _article(2, 0.05)
    index.add(first, first.id)
    index.add(second, "f" * 32, with_vector=False)  # an older index version's document
    encoder = FakeEncoder()
    assert await _stories(_assigner(index, encoder), [second]) == [first.id]
    assert encoder.encoded == [second.id]


async def test_an_article_without_a_vector_is_a_story_of_its_own(index: FakeIndex) -> None:
    index.add(_article(1, 0.0), "1" * 32)
    lonely = _article(2, None)
    assert await _stories(_assigner(index), [lonely]) == [lonely.id]


async def test_batch_mates_far_apart_in_time_stay_apart(index: FakeIndex) -> None:
    early, late = _article(1, 0.0), _article(2, 0.0, hours=100)
    assert await _stories(_assigner(index), [early, late]) == [early.id, late.id]


def test_the_document_carries_its_story_and_story_vector() -> None:
    article = _article(5, 0.0)
    document = story_document(article, Placement("a" * 32, [1.0, 0.0, 0.0]))
    assert (document["id"], document["story_id"]) == (article.id, "a" * 32)
    assert document["story_vector"] == [1.0, 0.0, 0.0]
    assert "story_vector" not in story_document(article, Placement(article.id, None))


def test_the_neighbour_search_stays_inside_the_window_and_skips_the_article() -> None:
    request = knn_request(_article(7, 0.0), _unit(0.0), POLICY)
    window = request["knn"]["filter"]["bool"]
    assert window["must_not"] == {"ids": {"values": [f"{7:032x}"]}}
    published = window["should"][0]["range"]["published_at"]
    assert published == {
        "gte": (T0 - timedelta(hours=48)).isoformat(),
        "lte": (T0 + timedelta(hours=48)).isoformat(),
    }
