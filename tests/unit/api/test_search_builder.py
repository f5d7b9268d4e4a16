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
    query = request["query"]
    rendered = repr(query)
    assert "query_string" not in rendered and "regexp" not in rendered and "script" not in rendered
