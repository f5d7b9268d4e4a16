"""Hybrid search's pure parts: fusion, story collapse, offset cursors and the request bodies."""

from __future__ import annotations

import pytest

from services.api.hybrid import (
    WINDOW,
    close_coverage_request,
    collapse_stories,
    decode_offset,
    encode_offset,
    fuse,
    knn_clause,
    read_story_summaries,
    related_hits,
    union_request,
)
from services.api.search import InvalidCursorError, SearchParams, encode_cursor


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    lexical = ["a", "b", "c"]
    semantic = ["c", "d", "a"]
    fused = fuse([lexical, semantic], k=60)
    assert [doc_id for doc_id, _ in fused][:2] == ["a", "c"]  # found by both
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert scores["b"] == pytest.approx(1 / 62) and scores["d"] == pytest.approx(1 / 62)


def test_one_ranking_keeps_its_order() -> None:
    assert [doc_id for doc_id, _ in fuse([["x", "y", "z"]])] == ["x", "y", "z"]


def test_collapse_keeps_each_storys_best_article() -> None:
    ranked = [("u1", 0.9), ("h1", 0.8), ("e2", 0.7), ("u3", 0.6)]
    stories = {"u1": "s1", "h1": "s1", "e2": "s2", "u3": None}
    assert collapse_stories(ranked, stories) == [("u1", 0.9), ("e2", 0.7), ("u3", 0.6)]


def test_offset_cursors_round_trip_and_refuse_others() -> None:
    assert decode_offset(None) == 0
    assert decode_offset(encode_offset(20)) == 20
    with pytest.raises(InvalidCursorError):
        decode_offset(encode_cursor([1.5, "abc"]))  # a lexical cursor
    with pytest.raises(InvalidCursorError):
        decode_offset(encode_offset(WINDOW))  # past the window


def test_the_knn_clause_carries_the_filters_and_threshold() -> None:
    params = SearchParams(q="flood", languages=("ur",), entities=("geo:PK",))
    clause = knn_clause(params, [0.6, 0.8], 100, 0.5)
    assert clause["field"] == "vector" and clause["k"] == 100 and clause["similarity"] == 0.5
    assert clause["num_candidates"] >= clause["k"]
    assert {"terms": {"language": ["ur"]}} in clause["filter"]
    assert {"term": {"entity_ids": "geo:PK"}} in clause["filter"]
    assert "filter" not in knn_clause(SearchParams(q="x"), [1.0], 10, 0.5)


def test_the_union_counts_stories_when_collapsed() -> None:
    body = union_request({"match_all": {}}, None, None, collapse=True)
    assert body["aggs"] == {"stories": {"cardinality": {"field": "story_id"}}}
    assert body["size"] == 0 and "knn" not in body


def test_story_summaries_are_read_from_the_aggregation() -> None:
    response = {
        "aggregations": {
            "stories": {
                "buckets": [
                    {
                        "key": "s1",
                        "doc_count": 3,
                        "languages": {
                            "buckets": [
                                {
                                    "key": "ur",
                                    "first": {
                                        "hits": {"hits": [{"_source": {"id": "u1", "title": "ت"}}]}
                                    },
                                },
                                {
                                    "key": "hi",
                                    "first": {"hits": {"hits": [{"_source": {"id": "h1"}}]}},
                                },
                            ]
                        },
                    }
                ]
            }
        }
    }
    assert read_story_summaries(response) == {
        "s1": {
            "id": "s1",
            "articles": 3,
            "versions": [
                {"id": "u1", "language": "ur", "title": "ت"},
                {"id": "h1", "language": "hi", "title": None},
            ],
        }
    }
    assert read_story_summaries(None) == {}


def _hit(doc_id: str, language: str) -> dict[str, object]:
    return {"_id": doc_id, "_score": 1.0, "_source": {"id": doc_id, "language": language}}


def test_related_lists_other_languages_then_own_then_close_coverage() -> None:
    article = {"id": "u1", "language": "ur"}
    story = {"hits": {"hits": [_hit("u2", "ur"), _hit("h1", "hi"), _hit("e1", "en")]}}
    close = {"hits": {"hits": [_hit("x1", "ur")]}}
    hits = related_hits(article, [story, close], has_story=True, size=10)
    assert [(h["id"], h["relation"]) for h in hits] == [
        ("h1", "story_other_language"),
        ("e1", "story_other_language"),
        ("u2", "story_same_language"),
        ("x1", "close_coverage"),
    ]
    assert [h["id"] for h in related_hits(article, [story, close], True, size=2)] == ["h1", "e1"]
    # no story yet: the one answer is close coverage
    assert [h["relation"] for h in related_hits(article, [close], False, 5)] == ["close_coverage"]


def test_close_coverage_leaves_out_the_article_and_its_story() -> None:
    body = close_coverage_request("a" * 32, "s" * 32, [1.0, 0.0], 5, 0.4)
    assert body["knn"]["filter"] == {
        "bool": {"must_not": [{"ids": {"values": ["a" * 32]}}, {"term": {"story_id": "s" * 32}}]}
    }
