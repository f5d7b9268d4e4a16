from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.search import (
    InvalidCursorError,
    SearchParams,
    build_query,
    build_search,
    decode_cursor,
    encode_cursor,
)


def test_cursor_round_trip_and_rejection() -> None:
    values = [1.5, "abc"]
    assert decode_cursor(encode_cursor(values)) == values
    for bad in ("", "%%%", encode_cursor([]), "eyJhIjogMX0", encode_cursor([{"x": 1}])):  # type: ignore[list-item]
        with pytest.raises(InvalidCursorError):
            decode_cursor(bad)


def test_filters_and_normalised_text() -> None:
    params = SearchParams(
        q="  پاكستان  ",
        languages=("ur", "hi"),
        entities=("geo:PK",),
        published_from=datetime(2024, 1, 1, tzinfo=UTC),
    )
    query = build_query(params)
    text = query["bool"]["must"][0]["multi_match"]["query"]
    assert "ك" not in text and text.strip() == text
    filters = query["bool"]["filter"]
    assert {"terms": {"language": ["ur", "hi"]}} in filters
    assert {"term": {"entity_ids": "geo:PK"}} in filters
    assert filters[-1]["range"]["published_at"]["gte"].startswith("2024-01-01")


def test_empty_query_sorts_by_date_and_asks_one_extra() -> None:
    request = build_search(SearchParams(size=5))
    assert request["query"] == {"match_all": {}}
    assert request["size"] == 6
    assert "published_at" in request["sort"][0]
    assert "highlight" not in request


@given(st.text(max_size=300))
def test_user_text_only_ever_lands_in_match_text(q: str) -> None:
    request = build_search(SearchParams(q=q))
    # the query's structure (its keys, at any depth) never holds a query type that parses or
    # runs user text; the text itself ("script", say) may appear only as a value
    assert not _keys(request["query"]) & {"query_string", "simple_query_string", "regexp", "script"}


def _keys(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys(v) for v in node))
    return set()


def test_resolved_names_match_as_text_or_entity_ids() -> None:
    from services.api.resolve import resolve_query
    from shared.kb import KnowledgeBase

    resolved = resolve_query("پاکستان talks", KnowledgeBase.load())
    request = build_search(SearchParams(q="پاکستان talks", resolved=resolved, facets=True))
    must = request["query"]["bool"]["must"]
    entity_clauses = [c["bool"]["should"] for c in must if "bool" in c]
    pakistan = next(
        s for s in entity_clauses if {"terms": {"entity_ids": ["geo:PK"], "boost": 2.0}} in s
    )
    assert pakistan[0]["multi_match"]["query"] == "پاکستان"
    # highlights ask the original-script fields for the names in every script
    title_terms = repr(request["highlight"]["fields"]["title"]["highlight_query"])
    assert "पाकिस्तान" in title_terms and "Pakistan" in title_terms
    assert "entities.mentions" in request["source_includes"]
    assert set(request["aggs"]) == {"languages", "sources", "entity_types", "entities", "published"}


def test_facets_and_hits_are_read_from_an_answer() -> None:
    from services.api.search import facets_data, read_hit
    from shared.models import SearchFacets

    aggregations = {
        "languages": {"buckets": [{"key": "ur", "doc_count": 2}]},
        "sources": {"buckets": []},
        "entity_types": {"buckets": [{"key": "PER", "doc_count": 1}]},
        "entities": {
            "by_type": {
                "buckets": [
                    {
                        "key": "PER",
                        "ids": {
                            "buckets": [
                                {
                                    "key": "per:nblmnr",
                                    "doc_count": 2,
                                    "name": {"buckets": [{"key": "Nabil Munir", "doc_count": 2}]},
                                }
                            ]
                        },
                    }
                ]
            }
        },
        "published": {"buckets": [{"key": 1741046400000, "doc_count": 2}]},
    }
    facets = SearchFacets.model_validate(facets_data(aggregations))
    assert facets.entities["PER"][0].model_dump() == {
        "id": "per:nblmnr",
        "name": "Nabil Munir",
        "type": "PER",
        "count": 2,
    }
    assert facets.published[0].date == datetime(2025, 3, 4, tzinfo=UTC)

    title = "جنرل نبیل منیر نے کہا"
    hit = read_hit(
        {
            "_id": "a" * 32,
            "_source": {
                "id": "a" * 32,
                "title": title,
                "language": "ur",
                "entities": [
                    {
                        "id": "per:nblmnr",
                        "name": "Nabil Munir",
                        "type": "PER",
                        "mentions": [
                            {"field": "title", "start": 5, "end": 14, "text": title[5:14]}
                        ],
                    }
                ],
            },
        },
        frozenset({"per:nblmnr"}),
    )
    assert hit.highlight == {"title": ["جنرل <mark>نبیل منیر</mark> نے کہا"]}


def test_a_page_validated_at_once_equals_hits_read_one_by_one() -> None:
    from services.api.search import hit_data, read_hit
    from shared.models import EntitySummary, SearchHit, SearchResponse

    raw = {
        "_id": "b" * 32,
        "_score": 1.5,
        "_source": {
            "id": "b" * 32,
            "title": "Pakistan and Russia",
            "language": "en",
            "published_at": "2025-03-05T00:00:00+00:00",
            "entities": [
                {"id": "geo:PK", "name": "Pakistan", "type": "LOC"},
                {"id": "geo:RU", "type": "oddity"},  # unknown type -> MISC, no name -> id
                {"name": "no id"},  # skipped
            ],
        },
        "highlight": {"search_title": ["<mark>Pakistan</mark> and Russia"]},
    }
    expected = SearchHit(
        id="b" * 32,
        title="Pakistan and Russia",
        language="en",
        published_at=datetime(2025, 3, 5, tzinfo=UTC),
        entities=[
            EntitySummary(id="geo:PK", name="Pakistan", type="LOC"),
            EntitySummary(id="geo:RU", name="geo:RU", type="MISC"),
        ],
        score=1.5,
        highlight={"title": ["<mark>Pakistan</mark> and Russia"]},
    )
    assert read_hit(raw) == expected
    page = SearchResponse.model_validate({"total": 1, "hits": [hit_data(raw)]})
    assert page.hits == [expected]
