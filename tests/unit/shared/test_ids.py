from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.ids import article_id, canonical_url


def test_url_id_ignores_tracking_fragment_case_and_trailing_slash() -> None:
    a = article_id(
        url="https://WWW.Example.com/news/1/?utm_source=x&b=2&a=1#top", title="x", body="y"
    )
    b = article_id(url="http://example.com/news/1?a=1&b=2", title="other", body="other")
    assert a == b
    assert canonical_url("https://www.example.com/a/?utm_medium=m") == "https://example.com/a"


def test_text_id_normalises_whitespace_and_case_but_not_content() -> None:
    a = article_id(url=None, title="Pakistan  Talks", body="Body text\n\nhere")
    b = article_id(url=None, title="pakistan talks", body="Body   text here")
    c = article_id(url=None, title="pakistan talks", body="Body text there")
    assert a == b != c


def test_urdu_text_variants_in_nfc_and_nfd_get_one_id() -> None:
    composed = "\u0622"  # آ
    decomposed = "\u0627\u0653"
    assert article_id(url=None, title=None, body=composed) == article_id(
        url=None, title=None, body=decomposed
    )


@given(st.text(), st.text())
def test_id_is_always_32_hex(title: str, body: str) -> None:
    value = article_id(url=None, title=title, body=body)
    assert len(value) == 32 and int(value, 16) >= 0
