from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from services.ingest.sources import html_to_text, parse_feed, parse_json_lines, read_path

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Demo Feed</title><language>ur</language>
<item><title>\xd9\xbe\xd8\xa7\xda\xa9\xd8\xb3\xd8\xaa\xd8\xa7\xd9\x86 news</title>
<link>https://example.com/a?utm_source=rss</link>
<description>&lt;p&gt;First paragraph.&lt;/p&gt;&lt;p&gt;Second &amp;amp; last.&lt;/p&gt;</description>
<pubDate>Tue, 19 Nov 2024 10:00:00 GMT</pubDate></item>
<item><title></title><description></description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Demo</title>
<entry><title>Atom entry</title><link href="https://example.com/atom/1"/>
<updated>2024-11-20T08:00:00Z</updated><content type="html">&lt;b&gt;Body&lt;/b&gt; text</content></entry>
</feed>"""


def test_rss_items_become_articles_and_empty_items_become_errors() -> None:
    items = list(parse_feed(RSS, "feed.xml"))
    assert len(items) == 2
    article = items[0].article
    assert article is not None
    assert article.title == "پاکستان news"
    assert article.body == "First paragraph.\n\nSecond & last."
    assert article.source == "Demo Feed"
    assert article.language_hint == "ur"
    assert article.published_at is not None and article.published_at.year == 2024
    assert items[1].article is None and items[1].error is not None
    assert items[1].error.input == "feed.xml#2"


def test_atom_entries() -> None:
    (item,) = parse_feed(ATOM, "atom.xml")
    assert item.article is not None
    assert item.article.url == "https://example.com/atom/1"
    assert item.article.body == "Body text"


def test_malformed_feed_is_one_error() -> None:
    (item,) = parse_feed(b"<rss><channel><item>", "bad.xml")
    assert item.error is not None or item.article is None


def test_json_lines_keep_order_and_report_bad_lines() -> None:
    lines = [
        json.dumps({"title": "A", "body": "alpha"}),
        "{not json",
        "",
        json.dumps(
            {
                "body": "beta",
                "url": "https://x.example/b",
                "published_at": "2024-05-01T10:00:00+05:00",
            }
        ),
        json.dumps({"title": "no body"}),
    ]
    items = list(parse_json_lines(lines, "in.jsonl"))
    assert [i.origin for i in items] == ["in.jsonl:1", "in.jsonl:2", "in.jsonl:4", "in.jsonl:5"]
    assert [i.article is not None for i in items] == [True, False, True, False]
    assert items[3].error is not None and "body" in items[3].error.error


def test_directory_of_pages_binary_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("Headline\n\nBody of the page.", encoding="utf-8")
    (tmp_path / "a.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "c.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "d.txt").write_bytes("नमस्ते दुनिया".encode("utf-16"))
    items = list(read_path(tmp_path))
    assert [Path(i.origin).name for i in items] == ["a.txt", "b.txt", "c.txt", "d.txt"]
    assert items[0].error is not None and "binary" in items[0].error.error
    assert items[1].article is not None and items[1].article.title is None
    assert items[2].error is not None
    assert items[3].article is not None and items[3].article.body == "नमस्ते दुनिया"


def test_same_page_twice_has_the_same_id(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("Title\n\nSame body.", encoding="utf-8")
    (tmp_path / "two.txt").write_text("Title\n\nSame   body.\n", encoding="utf-8")
    first, second = (i.article for i in read_path(tmp_path))
    assert first is not None and second is not None and first.id == second.id


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    (item,) = read_path(tmp_path / "missing.txt")
    assert item.error is not None and "no such file" in item.error.error


@given(st.text())
def test_html_to_text_never_crashes(fragment: str) -> None:
    assert isinstance(html_to_text(fragment), str)


@given(st.binary(max_size=2000))
def test_feed_parser_never_crashes_on_junk(data: bytes) -> None:
    for item in parse_feed(data, "junk"):
        assert (item.article is None) != (item.error is None)
