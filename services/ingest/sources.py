"""Reading articles from the places news comes from.

Plain-text pages (one article per file; the headline is found later by enrich, because scraped
pages often start with furniture), directories of them, JSON Lines (``title``, ``body``, optional
``url``, ``published_at``, ``source``, ``language``) and RSS/Atom feeds from a file or URL
(parsed by feedparser). Every input item yields either a :class:`RawArticle` or an
:class:`ErrorRecord` saying what was wrong and where — nothing is silently dropped.
"""

from __future__ import annotations

import calendar
import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import feedparser
from pydantic import ValidationError

from shared.errors import InvalidArticleError, SourceError
from shared.models import ArticleSubmission, ErrorRecord, RawArticle

JSONL_SUFFIXES = {".jsonl", ".ndjson"}
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".feed"}
MAX_FILE_BYTES = 20 * 1024 * 1024
_FEED_SNIFF = re.compile(rb"<(rss|feed|rdf:RDF)[\s>]", re.I)


@dataclass(frozen=True, slots=True)
class SourceItem:
    """One input item: an article, or the error that replaced it, and where it came from."""

    origin: str
    article: RawArticle | None = None
    error: ErrorRecord | None = None


def _error(origin: str, exc: BaseException) -> SourceItem:
    return SourceItem(
        origin=origin,
        error=ErrorRecord(
            error=str(exc) or type(exc).__name__, error_type=type(exc).__name__, input=origin
        ),
    )


def decode_text(data: bytes, origin: str) -> str:
    """Bytes of a text page as str; binary or undecodable input is an error, not mojibake."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidArticleError(f"{origin}: binary data, not a text page")
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            break
        return text
    raise InvalidArticleError(f"{origin}: not UTF-8 text")


def parse_text_page(data: bytes, origin: str, source: str | None = None) -> RawArticle:
    """A plain-text page as one raw article (title left for enrich to find)."""
    text = decode_text(data, origin)
    if not text.strip():
        raise InvalidArticleError(f"{origin}: empty page")
    return ArticleSubmission(body=text, source=source).to_raw(source=source)


def parse_json_lines(
    lines: Iterable[str | bytes], origin: str, source: str | None = None
) -> Iterator[SourceItem]:
    """One item per non-blank line; a bad line becomes an error item in its place."""
    for number, line in enumerate(lines, start=1):
        where = f"{origin}:{number}"
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield _error(where, InvalidArticleError(f"not UTF-8: {exc.reason}"))
                continue
        if not line.strip():
            continue
        try:
            submission = ArticleSubmission.model_validate_json(line)
            yield SourceItem(origin=where, article=submission.to_raw(source=source))
        except ValidationError as exc:
            yield _error(where, InvalidArticleError(_validation_message(exc)))


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        location = ".".join(str(part) for part in error["loc"]) or "value"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


class _TextExtractor(HTMLParser):
    """Visible text of an HTML fragment (feed summaries), with block breaks."""

    _BLOCKS = {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment; paragraphs separated by blank lines."""
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    text = html.unescape("".join(extractor.parts))
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines()]
    return "\n\n".join(line for line in lines if line)


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def parse_feed(data: bytes, origin: str) -> Iterator[SourceItem]:
    """Items of an RSS/Atom feed; a feed that cannot be parsed at all is one error item."""
    parsed = feedparser.parse(data)
    if parsed.get("bozo") and not parsed.entries:
        yield _error(origin, SourceError(f"not a readable feed: {parsed.get('bozo_exception')}"))
        return
    feed_title = parsed.feed.get("title") if parsed.get("feed") else None
    language = (
        (parsed.feed.get("language") or "")[:2].lower() or None if parsed.get("feed") else None
    )
    for number, entry in enumerate(parsed.entries, start=1):
        where = f"{origin}#{number}"
        content = ""
        if entry.get("content"):
            content = " ".join(part.get("value", "") for part in entry.content)
        content = content or entry.get("summary", "") or entry.get("description", "")
        try:
            submission = ArticleSubmission(
                title=html_to_text(entry.get("title", "")) or None,
                body=html_to_text(content) or html_to_text(entry.get("title", "")),
                url=entry.get("link"),
                source=(feed_title or None) and str(feed_title)[:200],
                published_at=_entry_time(entry),
                language=language if language and language.isalpha() else None,
            )
            yield SourceItem(origin=where, article=submission.to_raw())
        except ValidationError as exc:
            yield _error(where, InvalidArticleError(_validation_message(exc)))


def looks_like_feed(data: bytes) -> bool:
    """True when bytes start like an RSS/Atom document."""
    return bool(_FEED_SNIFF.search(data[:2048]))


def read_file(path: Path, source: str | None = None) -> Iterator[SourceItem]:
    """Items of one file, chosen by its suffix (and content, for feeds)."""
    origin = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SourceError(f"{origin}: larger than {MAX_FILE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        yield _error(origin, SourceError(f"{origin}: {exc.strerror or exc}"))
        return
    except SourceError as exc:
        yield _error(origin, exc)
        return
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from parse_json_lines(data.splitlines(), origin, source)
    elif suffix in FEED_SUFFIXES or looks_like_feed(data):
        yield from parse_feed(data, origin)
    elif suffix == ".json":
        yield from _parse_json_document(data, origin, source)
    else:
        try:
            yield SourceItem(origin=origin, article=parse_text_page(data, origin, source))
        except InvalidArticleError as exc:
            yield _error(origin, exc)


def _parse_json_document(data: bytes, origin: str, source: str | None) -> Iterator[SourceItem]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        yield _error(origin, InvalidArticleError(f"not JSON: {exc}"))
        return
    records = document if isinstance(document, list) else [document]
    yield from parse_json_lines((json.dumps(record) for record in records), origin, source)


def read_path(path: Path, source: str | None = None) -> Iterator[SourceItem]:
    """Items of a file or, recursively and in name order, of every file in a directory."""
    if path.is_dir():
        for child in sorted(
            p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
        ):
            yield from read_file(child, source)
    elif path.exists():
        yield from read_file(path, source)
    else:
        yield _error(str(path), SourceError(f"{path}: no such file or directory"))


async def read_url(url: str, *, timeout: float = 20.0) -> list[SourceItem]:
    """Items of a feed URL (RSS/Atom) or a JSON Lines URL."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.get(url, headers={"user-agent": "khabar/0.1 (+feed reader)"})
            response.raise_for_status()
    except httpx.HTTPError as exc:
        return [_error(url, SourceError(f"{url}: {exc}"))]
    data = response.content
    if looks_like_feed(data) or "xml" in response.headers.get("content-type", ""):
        return list(parse_feed(data, url))
    if url.endswith(JSONL_SUFFIXES_TUPLE):
        return list(parse_json_lines(data.splitlines(), url))
    return [_error(url, SourceError(f"{url}: not an RSS/Atom feed or JSON Lines"))]


JSONL_SUFFIXES_TUPLE = tuple(JSONL_SUFFIXES)
