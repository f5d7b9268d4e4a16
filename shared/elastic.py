"""Elasticsearch helpers: the client, the versioned index behind an alias, and documents.

Writers and readers only ever use the alias (``KHABAR_INDEX_ALIAS``); the concrete index is
``<alias>-v<N>`` with explicit mappings, so a mapping change is a new version and a reindex,
never a silent dynamic mapping. Elasticsearch has no Urdu analyzer and the local stand-in
rejects the ICU/Arabic/Hindi normalisation filters, so text is normalised in Python
(:func:`shared.text.normalize_text`) into ``search_*`` fields at index time, and queries get the
same function: both sides meet in the same form with only the ``standard`` analyzer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError
from elasticsearch import TransportError as ElasticTransportError

from shared.errors import ConfigurationError, SearchBackendError
from shared.models import EnrichedArticle, utc_now
from shared.settings import KhabarSettings
from shared.story_vectors import STORY_DIMS
from shared.text import normalize_text

log = logging.getLogger(__name__)

#: v2 added ``vector`` (the article's multilingual vector, for kNN) and ``story_id``; v3 added
#: ``story_vector`` (the headline's contextual vector that stories are decided on, see
#: :mod:`shared.story_vectors`). An index of an older version is copied into the new one by
#: ``khabar reindex``, which computes what the new version adds.
INDEX_VERSION = 3

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}

MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "schema_version": {"type": "integer"},
        "id": _KEYWORD,
        "url": {"type": "keyword", "ignore_above": 2048},
        "source": _KEYWORD,
        "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 512}}},
        "body": {"type": "text"},
        "search_title": {"type": "text"},
        "search_body": {"type": "text"},
        "language": _KEYWORD,
        "language_confidence": {"type": "float"},
        "script": _KEYWORD,
        "languages": {
            "properties": {"language": _KEYWORD, "share": {"type": "float"}},
        },
        "published_at": _DATE,
        "ingested_at": _DATE,
        "enriched_at": _DATE,
        "indexed_at": _DATE,
        "entities": {
            "type": "nested",
            "properties": {
                "id": _KEYWORD,
                "type": _KEYWORD,
                "name": _KEYWORD,
                "linked": {"type": "boolean"},
                "score": {"type": "float"},
                "names": {"type": "object", "enabled": False},
                "mentions": {"type": "object", "enabled": False},
            },
        },
        "entity_ids": _KEYWORD,
        "entity_types": _KEYWORD,
        "entity_names": {"type": "text"},
        "flags": _KEYWORD,
        "story_id": _KEYWORD,
        "trace_id": _KEYWORD,
        "timings_ms": {"type": "object", "enabled": False},
    },
}

INDEX_SETTINGS: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0}


#: The kNN graph both vector fields are indexed in: int8 HNSW (the default type) built with a
#: smaller candidate list than the default's 100. Measured on 24,746 real article vectors
#: (``tools/bench_vector_index.py``, ``bench/vector_index.json``, two runs): indexing and
#: merging 1.5-1.7 ms of search-server CPU a document against 3.2-3.7, recall@10 against exact
#: search 0.86-0.87 against 0.83 (int8 quantisation, not the graph, is what bounds it). An index
#: made before keeps its own options: same fields, same answers, no reindex needed.
VECTOR_INDEX_OPTIONS: dict[str, Any] = {"type": "int8_hnsw", "m": 16, "ef_construction": 48}


def _dense(dims: int) -> dict[str, Any]:
    return {
        "type": "dense_vector",
        "dims": dims,
        "index": True,
        "similarity": "cosine",
        "index_options": VECTOR_INDEX_OPTIONS,
    }


def mappings(dims: int) -> dict[str, Any]:
    """The current version's mappings: :data:`MAPPINGS`, a ``dims``-long ``vector`` and the
    ``story_vector``, both indexed for approximate kNN by cosine similarity (HNSW, part of every
    Elasticsearch 8)."""
    vectors = {"vector": _dense(dims), "story_vector": _dense(STORY_DIMS)}
    return {**MAPPINGS, "properties": {**MAPPINGS["properties"], **vectors}}


#: The longest one request (e.g. an in-flight bulk at shutdown) may take.
REQUEST_TIMEOUT_SECONDS = 30


def make_client(settings: KhabarSettings, **overrides: Any) -> AsyncElasticsearch:
    """One async client per process (it pools connections); never one per request."""
    options: dict[str, Any] = {
        "hosts": [settings.elasticsearch_url],
        "request_timeout": REQUEST_TIMEOUT_SECONDS,
        "retry_on_timeout": True,
        "max_retries": 2,
        "http_compress": False,
    }
    if settings.elasticsearch_api_key:
        options["api_key"] = settings.elasticsearch_api_key.get_secret_value()
    elif settings.elasticsearch_username and settings.elasticsearch_password:
        options["basic_auth"] = (
            settings.elasticsearch_username,
            settings.elasticsearch_password.get_secret_value(),
        )
    if settings.elasticsearch_ca_certs:
        options["ca_certs"] = str(settings.elasticsearch_ca_certs)
    options.update(overrides)
    return AsyncElasticsearch(**options)


def versioned_index(alias: str, version: int = INDEX_VERSION) -> str:
    """The concrete index behind an alias."""
    return f"{alias}-v{version}"


async def alias_targets(es: AsyncElasticsearch, alias: str) -> list[str]:
    """The indices ``alias`` points at (none when it does not exist)."""
    try:
        found = await es.indices.get_alias(name=alias)
    except NotFoundError:
        return []
    return sorted(found.body)


async def ensure_index(es: AsyncElasticsearch, alias: str, dims: int) -> str:
    """Make sure the current index version exists with its mappings; the index to write to.

    A fresh install gets the current version behind the alias. Where the alias already points at
    an older version, the new one is created beside it and writes keep going to the old one
    until ``khabar reindex`` has copied it over and moved the alias (nothing is lost meanwhile:
    the old index keeps every field in ``_source``). An existing current-version index whose
    vectors have another length than the model's is refused with a clear error.
    """
    index = versioned_index(alias)
    try:
        targets = await alias_targets(es, alias)
        if not await es.indices.exists(index=index):
            try:
                await es.indices.create(
                    index=index,
                    mappings=mappings(dims),
                    settings=INDEX_SETTINGS,
                    aliases={} if targets else {alias: {"is_write_index": True}},
                )
                log.info("created index", extra={"index": index, "alias": alias})
            except BadRequestError as exc:
                if "resource_already_exists" not in str(exc):
                    raise
        await check_vector_dims(es, index, dims)
        if not targets:
            await es.indices.put_alias(index=index, name=alias)
        elif index not in targets:
            log.warning(
                "the alias points at an older index version; run `khabar reindex` to copy it "
                "into the new one (vectors, stories)",
                extra={"alias": alias, "current": targets, "new": index},
            )
            return targets[-1]
    except (ElasticTransportError, BadRequestError) as exc:
        raise SearchBackendError(f"could not prepare index {index}: {exc}") from exc
    return index


async def check_vector_dims(es: AsyncElasticsearch, index: str, dims: int) -> None:
    """Refuse an index whose ``vector`` or ``story_vector`` field has another length than the
    models make."""
    mapping = await es.indices.get_mapping(index=index)
    properties = mapping[index]["mappings"].get("properties", {})
    for field, wanted in (("vector", dims), ("story_vector", STORY_DIMS)):
        found = properties.get(field, {}).get("dims")
        if found is not None and int(found) != wanted:
            raise ConfigurationError(
                f"index {index} stores {found}-dimension {field}s but the model makes {wanted}: "
                "a model with another size needs a new index version (INDEX_VERSION) and a "
                "reindex"
            )


def article_document(article: EnrichedArticle) -> dict[str, Any]:
    """The Elasticsearch document for an enriched article (``_id`` is the article id)."""
    doc = article.model_dump(mode="json")
    names: list[str] = []
    for entity in article.entities:
        names.append(entity.name)
        names.extend(entity.names.values())
    doc.update(
        search_title=normalize_text(article.title or ""),
        search_body=normalize_text(article.body),
        entity_ids=sorted({entity.id for entity in article.entities}),
        entity_types=sorted({entity.type for entity in article.entities}),
        entity_names=normalize_text(" | ".join(dict.fromkeys(names))),
        indexed_at=utc_now().isoformat(),
    )
    return doc


async def get_document(
    es: AsyncElasticsearch, alias: str, doc_id: str, excludes: Sequence[str] = ()
) -> dict[str, Any] | None:
    """One document's source (less the ``excludes`` fields), or None when it does not exist."""
    try:
        response = await es.get(index=alias, id=doc_id, source_excludes=list(excludes) or None)
    except NotFoundError:
        return None
    source: dict[str, Any] = response["_source"]
    return source


async def ping(es: AsyncElasticsearch) -> bool:
    """True when the search server answers and can serve (cluster health green or yellow).

    ``_cluster/health`` rather than ``HEAD /``: every Elasticsearch serves it, while the root
    handler is a module some distributions leave out (the integration-test one answers 405).
    """
    try:
        health = await es.cluster.health()
        return health["status"] in ("green", "yellow")
    except Exception:  # noqa: BLE001 - readiness must answer, whatever the failure
        return False
