"""Index versions on the real search server: ``khabar reindex`` moves an older index (no vectors,
no stories) into the current version, and a mapping with the wrong vector length is refused.

Each test uses an alias of its own, so the running chain's index is never touched.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.index.reindex import reindex
from services.localstack import LocalStack
from shared.elastic import (
    INDEX_SETTINGS,
    INDEX_VERSION,
    MAPPINGS,
    alias_targets,
    article_document,
    ensure_index,
    make_client,
    mappings,
    versioned_index,
)
from shared.errors import ConfigurationError
from shared.models import EnrichedArticle
from shared.settings import IndexSettings
from shared.story_vectors import STORY_DIMS
from shared.vectors import shared_embedder

pytestmark = pytest.mark.integration

T0 = datetime(2025, 7, 1, 6, 0, tzinfo=UTC)
# Written for these tests: one story told in English and Urdu, one unrelated, one junk page.
ARTICLES = [
    ("Floods close schools across Sindh", "Heavy monsoon rain flooded Hyderabad and Sukkur."),
    ("سندھ میں سیلاب سے اسکول بند", "مون سون کی شدید بارش سے حیدرآباد اور سکھر میں سیلاب آ گیا۔"),
    ("Cricket board names new captain", "The selectors announced the squad for the tour."),
    ("", "!!! ??? ..."),
]


def _old_documents() -> list[dict[str, Any]]:
    documents = []
    for n, (title, body) in enumerate(ARTICLES):
        article = EnrichedArticle(
            id=f"{n + 1:032x}",
            title=title or None,
            body=body,
            language="ur" if n == 1 else "en",
            published_at=T0 + timedelta(hours=n),
        )
        document = article_document(article)
        del document["vector"], document["story_id"]  # what a version-1 index holds
        document["indexed_at"] = (T0 + timedelta(days=1)).isoformat()
        documents.append(document)
    return documents


def _v1_mappings() -> dict[str, Any]:
    properties = {k: v for k, v in MAPPINGS["properties"].items() if k != "story_id"}
    return {**MAPPINGS, "properties": properties}


async def _reindex_old_index(url: str) -> dict[str, Any]:
    es = make_client(IndexSettings(elasticsearch_url=url))
    alias = f"rx-{uuid.uuid4().hex[:8]}"
    old = versioned_index(alias, 1)
    try:
        await es.indices.create(
            index=old, mappings=_v1_mappings(), settings=INDEX_SETTINGS, aliases={alias: {}}
        )
        operations: list[dict[str, Any]] = []
        for document in _old_documents():
            operations.extend(({"index": {"_index": old, "_id": document["id"]}}, document))
        await es.bulk(operations=operations, refresh="wait_for")
        # the indexer, started on the new version, writes to the old index until the reindex
        assert await ensure_index(es, alias, shared_embedder().dims) == old
        report = await reindex(es, alias, shared_embedder())
        again = await reindex(es, alias, shared_embedder())
        targets = await alias_targets(es, alias)
        found = await es.search(index=alias, size=10, sort=[{"id": "asc"}])
        return {
            "report": report,
            "again": again,
            "targets": targets,
            "docs": [hit["_source"] for hit in found["hits"]["hits"]],
        }
    finally:
        await es.indices.delete(
            index=[versioned_index(alias, 1), versioned_index(alias)], ignore_unavailable=True
        )
        await es.close()


def test_reindex_moves_an_old_index_into_the_current_version(stack: LocalStack) -> None:
    result = asyncio.run(_reindex_old_index(stack.elasticsearch_url))
    report, docs = result["report"], result["docs"]
    assert report.moved_alias and report.copied >= len(ARTICLES)
    assert result["targets"] == [report.target] and report.target.endswith(f"-v{INDEX_VERSION}")
    assert not result["again"].source  # a second run has nothing to do
    assert [doc["id"] for doc in docs] == [f"{n + 1:032x}" for n in range(len(ARTICLES))]
    dims = shared_embedder().dims
    for doc in docs[:3]:
        assert len(doc["vector"]) == dims and "no_vector" not in doc["flags"]
        assert len(doc["story_vector"]) == STORY_DIMS and doc["story_id"]
        assert doc["indexed_at"] == (T0 + timedelta(days=1)).isoformat()  # kept
    junk = docs[3]
    assert junk["vector"] is None and "no_vector" in junk["flags"]
    assert junk["story_id"] == junk["id"] and "story_vector" not in junk  # a story of one
    assert docs[2]["story_id"] == docs[2]["id"]  # the unrelated article stands alone


async def _ensure_with_wrong_dims(url: str) -> None:
    es = make_client(IndexSettings(elasticsearch_url=url))
    alias = f"dims-{uuid.uuid4().hex[:8]}"
    dims = shared_embedder().dims
    try:
        await es.indices.create(
            index=versioned_index(alias), mappings=mappings(dims + 8), settings=INDEX_SETTINGS
        )
        await ensure_index(es, alias, dims)
    finally:
        await es.indices.delete(
            index=[versioned_index(alias, 1), versioned_index(alias)], ignore_unavailable=True
        )
        await es.close()


def test_an_index_with_vectors_of_another_length_is_refused(stack: LocalStack) -> None:
    with pytest.raises(ConfigurationError, match=r"stores \d+-dimension vectors"):
        asyncio.run(_ensure_with_wrong_dims(stack.elasticsearch_url))
