"""``khabar reindex``: copy an older index version into the current one and move the alias.

Elasticsearch's ``_reindex`` cannot compute what a new version adds (vectors, stories) and is
absent from some distributions, so the copy is done here: the old index is read in
chronological order with ``search_after``, each article missing a vector is embedded again from
its title and lead (``shared.vectors``), each gets its story vector and its story as the indexer
would give it (:class:`services.index.stories.StoryAssigner`, against the new index), and pages
are bulk-written with ``_id`` = article id. Then the alias moves to the new index in one atomic
``_aliases`` call, and a last pass copies what writers added to the old index meanwhile. Each
step is idempotent: an interrupted reindex is simply run again. The old index is kept; delete it
once satisfied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import AsyncElasticsearch
from pydantic import ValidationError

from services.index.stories import (
    Encode,
    StoryAssigner,
    StoryPolicy,
    encoder_for,
    story_document,
)
from shared.elastic import alias_targets, ensure_index, versioned_index
from shared.errors import SearchBackendError
from shared.models import EnrichedArticle, utc_now
from shared.story_vectors import shared_story_encoder
from shared.vectors import Embedder, article_text, as_list

#: Articles read, placed in stories and written per round trip.
PAGE = 250


@dataclass
class ReindexReport:
    """What a reindex did."""

    alias: str
    source: list[str]
    target: str
    copied: int = 0
    embedded: int = 0
    skipped: int = 0
    moved_alias: bool = False


async def _pages(
    es: AsyncElasticsearch, indices: list[str], since: datetime | None
) -> AsyncIterator[list[dict[str, Any]]]:
    """The old indices' documents, oldest first, a page at a time."""
    query: dict[str, Any] = {"match_all": {}}
    if since is not None:
        query = {"range": {"indexed_at": {"gte": since.isoformat()}}}
    after: list[Any] | None = None
    while True:
        response = await es.search(
            index=",".join(indices),
            query=query,
            size=PAGE,
            sort=[{"ingested_at": "asc"}, {"id": "asc"}],
            search_after=after,
        )
        hits = response["hits"]["hits"]
        if not hits:
            return
        yield hits
        after = hits[-1]["sort"]


def _article(source: dict[str, Any], embedder: Embedder, report: ReindexReport) -> EnrichedArticle:
    article = EnrichedArticle.model_validate(source)
    if article.vector is None or len(article.vector) != embedder.dims:
        vector = embedder.embed(article_text(article.title, article.body))
        flags = sorted(
            (set(article.flags) - {"no_vector"}) | ({"no_vector"} if vector is None else set())
        )
        article = article.model_copy(update={"vector": as_list(vector), "flags": flags})
        report.embedded += 1
    return article


async def _copy(
    es: AsyncElasticsearch,
    report: ReindexReport,
    embedder: Embedder,
    stories: StoryAssigner,
    since: datetime | None,
    progress: Callable[[ReindexReport], None],
) -> None:
    async for hits in _pages(es, report.source, since):
        articles, indexed_at = [], []
        for hit in hits:
            try:
                articles.append(_article(hit["_source"], embedder, report))
                indexed_at.append(hit["_source"].get("indexed_at"))
            except ValidationError:
                report.skipped += 1  # not an article of this contract: left where it is
        placed = await stories.assign(articles)
        operations: list[dict[str, Any]] = []
        for article, placement, when in zip(articles, placed, indexed_at, strict=True):
            document = story_document(article, placement)
            if when:
                document["indexed_at"] = when  # keep /stream's cursor order
            operations.extend(({"index": {"_index": report.target, "_id": article.id}}, document))
        if operations:
            response = await es.bulk(operations=operations, refresh="wait_for")
            if response.get("errors"):
                failed = [i for i in response["items"] if i["index"].get("status", 500) >= 300]
                raise SearchBackendError(f"{len(failed)} documents refused: {failed[0]}")
        report.copied += len(articles)
        progress(report)


async def reindex(
    es: AsyncElasticsearch,
    alias: str,
    embedder: Embedder,
    policy: StoryPolicy | None = None,
    progress: Callable[[ReindexReport], None] = lambda _: None,
    encode: Encode | None = None,
) -> ReindexReport:
    """Copy the indices behind ``alias`` into the current version and move the alias there
    (story vectors from ``encode``, by default the shipped headline encoder)."""
    target = versioned_index(alias)
    await ensure_index(es, alias, embedder.dims)
    source = [index for index in await alias_targets(es, alias) if index != target]
    report = ReindexReport(alias=alias, source=source, target=target)
    if not source:
        return report
    stories = StoryAssigner(
        lambda: es, target, encode or encoder_for(shared_story_encoder()), policy
    )
    started = utc_now()
    await _copy(es, report, embedder, stories, None, progress)
    actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": alias}} for i in source]
    actions.append({"add": {"index": target, "alias": alias, "is_write_index": True}})
    await es.indices.update_aliases(actions=actions)
    report.moved_alias = True
    await _copy(es, report, embedder, stories, started, progress)  # written meanwhile
    return report
