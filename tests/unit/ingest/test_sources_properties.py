"""Hostile input to every ingest parser: a clear error item or an article, never an exception.

Ingest is the edge where bytes from anywhere (drop folders, feeds, HTTP) become events, so each
parser is fed what an attacker or a broken scraper would send: invalid UTF-8, control,
zero-width and bidirectional-override characters, lone surrogates, binary junk, deeply nested
JSON, malformed and entity-bomb feeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.sources import (
    SourceItem,
    decode_text,
    looks_like_feed,
    parse_feed,
    parse_json_lines,
    read_path,
)
from shared.errors import InvalidArticleError
from tests.unit.hostile import NASTY, hostile_text, json_documents


def _well_formed(item: SourceItem) -> None:
    assert (item.article is None) != (item.error is None), item
    if item.error is not None:
        assert item.error.error and item.error.input == item.origin


@settings(deadline=None)  # a shared, busy machine: judge behaviour, not speed
@given(st.binary(max_size=2_000))
def test_decode_text_returns_text_or_a_clear_error(data: bytes) -> None:
    try:
        text = decode_text(data, "page.txt")
    except InvalidArticleError as exc:
        assert "page.txt" in str(exc)
    else:
        assert isinstance(text, str)


@settings(deadline=None)  # a shared, busy machine: judge behaviour, not speed
@given(st.lists(st.one_of(hostile_text, st.binary(max_size=200)), max_size=12))
def test_json_lines_yield_one_item_per_non_blank_line(lines: list[str | bytes]) -> None:
    items = list(parse_json_lines(lines, "in.jsonl"))
    expected = 0
    for line in lines:
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError:
            expected += 1  # undecodable lines are reported, never skipped
            continue
        expected += bool(text.strip())
    assert len(items) == expected
    for item in items:
        _well_formed(item)


json_values = json_documents(["title", "body", "url", "x"], max_leaves=20)


@settings(deadline=None)  # a shared, busy machine: judge behaviour, not speed
@given(json_values)
def test_json_lines_with_wrong_types_become_errors_naming_the_field(value: object) -> None:
    line = json.dumps(value)
    [item] = parse_json_lines([line], "in.jsonl")
    _well_formed(item)
    if item.article is not None:
        assert isinstance(value, dict) and isinstance(value.get("body"), str)


@settings(deadline=None)  # a shared, busy machine: judge behaviour, not speed
@given(st.text(alphabet=NASTY, min_size=1, max_size=400))
def test_article_text_survives_hostile_characters(body: str) -> None:
    line = json.dumps({"title": body[:50], "body": body})
    [item] = parse_json_lines([line], "in.jsonl")
    _well_formed(item)
    if item.article is not None:
        # ingest keeps the text the JSON line carries (a \ud800\udfff escape pair *is* one
        # astral character in JSON); enrich decides what it means
        assert item.article.body == json.loads(line)["body"]


@pytest.mark.parametrize("depth", [100, 10_000, 100_000])
def test_deeply_nested_json_is_an_error_not_a_recursion_crash(depth: int) -> None:
    line = '{"body": ' + "[" * depth + "]" * depth + "}"
    [item] = parse_json_lines([line], "deep.jsonl")
    assert item.error is not None and item.article is None


def test_huge_title_is_refused_with_the_field_named() -> None:
    [item] = parse_json_lines([json.dumps({"title": "t" * 10_000, "body": "b"})], "x.jsonl")
    assert item.error is not None and "title" in item.error.error


FEED_FRAGMENTS = [
    b'<?xml version="1.0"?>',
    b"<rss>",
    b"<channel>",
    b"<item>",
    b"<title>",
    b"</title>",
    b"<description>",
    b"</description>",
    b"</item>",
    b"</channel>",
    b"</rss>",
    b"<feed xmlns='http://www.w3.org/2005/Atom'>",
    b"<entry>",
    b"</entry>",
    b"<link>https://x.example/a</link>",
    b"<![CDATA[",
    b"]]>",
    b"&amp;",
    b"&undefined;",
    b"<",
    b"\xff\xfe",
    b"\x00",
    "پاکستان भारत \u202e".encode(),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FEED_FRAGMENTS) | st.binary(max_size=30), max_size=40))
def test_malformed_feeds_yield_items_or_one_error(parts: list[bytes]) -> None:
    items = list(parse_feed(b"".join(parts), "feed.xml"))
    for item in items:
        _well_formed(item)


def test_entity_expansion_bomb_in_a_feed_is_not_expanded() -> None:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "ha"}">' for i in range(9))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]>'
        "<rss><channel><item><title>&e8;</title><description>x</description></item>"
        "</channel></rss>"
    ).encode()
    items = list(parse_feed(bomb, "bomb.xml"))
    for item in items:
        _well_formed(item)
        if item.article is not None:
            assert len(item.article.title or "") < 100_000  # 10**8 "ha"s were not produced


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=3_000),
    suffix=st.sampled_from([".txt", ".jsonl", ".json", ".xml", ".rss", ".md", ""]),
)
def test_any_file_in_the_drop_folder_gives_items_never_an_exception(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"drop{suffix}"
    path.write_bytes(data)
    items = list(read_path(path))
    if suffix in {".txt", ".md", ""} and not looks_like_feed(data):
        assert len(items) == 1, "a text page is one article or one error, never nothing"
    for item in items:
        _well_formed(item)
