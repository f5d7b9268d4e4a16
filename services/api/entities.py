"""Entity endpoints: autocomplete in any script, an entity's profile, and its articles.

Entities come from two places. The knowledge base knows countries, cities and organisations
with their names in Urdu, Hindi and English; the index knows everything enrichment found,
including people the KB has never heard of (ids from the cross-script name key, e.g.
``per:nblmnr``). Both are consulted: the KB for canonical names, the index for what the news
actually says — counts, the languages it appears in, its company and a timeline, all from one
search with aggregations (term filters and aggregations are cheap even on the local server).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from services.api.contract import (
    CURSOR_QUERY,
    ENTITY_EXAMPLE,
    FROM_QUERY,
    LANG_QUERY,
    SUGGESTIONS_EXAMPLE,
    TO_QUERY,
    InstantParam,
    LanguageParam,
    article_links,
    check_range,
    entity_links,
    json_example,
)
from services.api.deps import (
    SEARCH_ERRORS,
    ReadKeyDep,
    Resources,
    ResourcesDep,
    run_search,
    total_hits,
)
from services.api.errors import error_responses
from services.api.execute import perform_search
from services.api.search import (
    ENTITY_TYPES,
    Interval,
    SearchParams,
    date_buckets,
    date_histogram,
    entity_buckets,
    entity_id_aggregation,
    facet_buckets,
)
from shared.kb import KbEntry
from shared.models import (
    EntityDetail,
    EntitySuggestion,
    EntitySuggestions,
    EntityType,
    SearchResponse,
)
from shared.text import normalize_text

router = APIRouter(tags=["entities"])

ENTITY_ID = Path(
    pattern=r"^[a-z]+:[A-Za-z0-9_.\-]{1,120}$",
    description="An entity id, e.g. geo:PK (KB) or per:nblmnr (cross-script name key).",
    examples=["geo:PK"],
)
#: Articles read to learn the names and spellings of entities (their names are not indexed
#: per entity, only in each article's source).
SAMPLE_ARTICLES = 50


def _entity_type(value: object) -> EntityType:
    return next((t for t in ENTITY_TYPES if t == value), "MISC")


def _from_kb(entry: KbEntry, count: int | None) -> EntitySuggestion:
    return EntitySuggestion(
        id=entry.id,
        name=entry.name,
        type=_entity_type(entry.type),
        names=dict(entry.names),
        linked=True,
        article_count=count,
    )


class _Seen:
    """What sampled articles say about each entity: names per language, display names, type."""

    def __init__(self, hits: list[dict[str, Any]]) -> None:
        self.names: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
        self.display: dict[str, Counter[str]] = defaultdict(Counter)
        self.types: dict[str, Counter[str]] = defaultdict(Counter)
        for hit in hits:
            for entity in hit.get("_source", {}).get("entities", []):
                entity_id = entity.get("id")
                if not isinstance(entity_id, str):
                    continue
                self.display[entity_id][str(entity.get("name", entity_id))] += 1
                self.types[entity_id][str(entity.get("type", "MISC"))] += 1
                for language, name in (entity.get("names") or {}).items():
                    self.names[entity_id][language][str(name)] += 1

    def names_of(self, entity_id: str) -> dict[str, str]:
        """The commonest spelling in each language."""
        return {lang: c.most_common(1)[0][0] for lang, c in self.names[entity_id].items() if c}

    def name_of(self, entity_id: str) -> str:
        """The commonest display name."""
        common = self.display[entity_id].most_common(1)
        return common[0][0] if common else entity_id

    def type_of(self, entity_id: str) -> EntityType:
        """The commonest type."""
        common = self.types[entity_id].most_common(1)
        return _entity_type(common[0][0] if common else None)

    def matches(self, entity_id: str, prefix: str) -> bool:
        """True when a word of one of the entity's names starts with ``prefix`` (normalised)."""
        forms = [*self.display[entity_id], *(n for c in self.names[entity_id].values() for n in c)]
        for form in forms:
            normal = normalize_text(form)
            if normal.startswith(prefix) or f" {prefix}" in f" {normal}":
                return True
        return False


async def _index_suggestions(
    resources: Resources, prefix: str, limit: int
) -> list[EntitySuggestion]:
    """Entities in sampled articles with a name (any script) starting with ``prefix``."""
    response = await run_search(
        resources,
        {
            "query": {"match_phrase_prefix": {"entity_names": {"query": prefix}}},
            "size": SAMPLE_ARTICLES,
            "source_includes": ["entities.id", "entities.name", "entities.type", "entities.names"],
        },
    )
    if response is None:
        return []
    seen = _Seen(response["hits"]["hits"])
    ranked = sorted(seen.display, key=lambda i: -sum(seen.display[i].values()))
    return [
        EntitySuggestion(
            id=entity_id,
            name=seen.name_of(entity_id),
            type=seen.type_of(entity_id),
            names=seen.names_of(entity_id),
            linked=resources.kb.get(entity_id) is not None,
        )
        for entity_id in ranked
        if seen.matches(entity_id, prefix)
    ][:limit]


async def _article_counts(resources: Resources, ids: list[str]) -> dict[str, int]:
    """Articles mentioning each entity (one search with a ``filters`` aggregation)."""
    if not ids:
        return {}
    response = await run_search(
        resources,
        {
            "query": {"terms": {"entity_ids": ids}},
            "size": 0,
            "aggs": {
                "counts": {"filters": {"filters": {i: {"term": {"entity_ids": i}} for i in ids}}}
            },
        },
    )
    found = (response or {}).get("aggregations", {}).get("counts", {}).get("buckets", {})
    return {i: int(found.get(i, {}).get("doc_count", 0)) for i in ids}


@router.get(
    "/entities",
    response_model=EntitySuggestions,
    responses={
        **SEARCH_ERRORS,
        **json_example(SUGGESTIONS_EXAMPLE, entity_links("$response.body#/items/0/id")),
    },
)
async def list_entities(
    resources: ResourcesDep,
    _: ReadKeyDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            description="The beginning of a name, in any script.",
            examples=["پاک"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many entities.")] = 10,
    type: Annotated[EntityType | None, Query(description="Only entities of this type.")] = None,
) -> EntitySuggestions:
    """Autocomplete entity names: knowledge-base entries and entities seen in articles.

    KB entries come first (canonical, most prominent first), then entities found in articles
    (people and organisations the KB does not know); every item says how many articles
    mention it, counted across all scripts.
    """
    prefix = normalize_text(q)
    if not prefix:
        return EntitySuggestions(items=[])
    wanted = limit * 3 if type else limit
    items: dict[str, EntitySuggestion] = {}
    for entry in resources.kb.suggest(q, wanted):
        items[entry.id] = _from_kb(entry, None)
    for suggestion in await _index_suggestions(resources, prefix, wanted):
        items.setdefault(suggestion.id, suggestion)
    chosen = [s for s in items.values() if type is None or s.type == type][:limit]
    counts = await _article_counts(resources, [s.id for s in chosen])
    return EntitySuggestions(
        items=[s.model_copy(update={"article_count": counts.get(s.id, 0)}) for s in chosen]
    )


@router.get(
    "/entities/{entity_id}",
    response_model=EntityDetail,
    responses={
        **SEARCH_ERRORS,
        **json_example(ENTITY_EXAMPLE, entity_links("$response.body#/co_occurring/0/id")),
        **error_responses(404, _404="Neither the KB nor any article knows this entity."),
    },
)
async def get_entity(
    resources: ResourcesDep,
    _: ReadKeyDep,
    entity_id: Annotated[str, ENTITY_ID],
    interval: Annotated[Interval, Query(description="Timeline interval.")] = "month",
    related: Annotated[int, Query(ge=1, le=50, description="Co-occurring entities.")] = 10,
) -> EntityDetail:
    """One entity: names in each language, article count, company and a timeline."""
    response = await run_search(
        resources,
        {
            "query": {"term": {"entity_ids": entity_id}},
            "size": SAMPLE_ARTICLES,
            "track_total_hits": True,
            "source_includes": ["entities.id", "entities.name", "entities.type", "entities.names"],
            "aggs": {
                "languages": {"terms": {"field": "language", "size": 10}},
                "timeline": date_histogram("published_at", interval, stories=True),
                "entities": {
                    "nested": {"path": "entities"},
                    # One more than asked: the entity itself is always among its co-occurrences.
                    "aggs": {"ids": entity_id_aggregation(related + 1)},
                },
            },
        },
    )
    entry = resources.kb.get(entity_id)
    count = total_hits(response)
    if entry is None and count == 0:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no entity with id {entity_id}")
    aggregations = (response or {}).get("aggregations", {})
    seen = _Seen(response["hits"]["hits"] if response else [])
    co_occurring = [
        b for b in entity_buckets(aggregations.get("entities", {}).get("ids")) if b.id != entity_id
    ]
    return EntityDetail(
        id=entity_id,
        type=_entity_type(entry.type) if entry else seen.type_of(entity_id),
        name=entry.name if entry else seen.name_of(entity_id),
        names={**seen.names_of(entity_id), **(dict(entry.names) if entry else {})},
        linked=entry is not None,
        country=entry.country if entry else None,
        article_count=count,
        languages=facet_buckets(aggregations.get("languages")),
        co_occurring=co_occurring[:related],
        timeline=date_buckets(aggregations.get("timeline")),
    )


@router.get(
    "/entities/{entity_id}/articles",
    response_model=SearchResponse,
    responses={**SEARCH_ERRORS, 200: {"links": article_links("$response.body#/hits/0/id")}},
)
async def list_entity_articles(
    resources: ResourcesDep,
    _: ReadKeyDep,
    entity_id: Annotated[str, ENTITY_ID],
    lang: Annotated[list[LanguageParam], LANG_QUERY] = [],  # noqa: B006
    published_from: Annotated[InstantParam | None, FROM_QUERY] = None,
    published_to: Annotated[InstantParam | None, TO_QUERY] = None,
    size: Annotated[int, Query(ge=1, le=100, description="Hits per page.")] = 10,
    sort: Annotated[Literal["relevance", "date"], Query()] = "date",
    cursor: Annotated[str | None, CURSOR_QUERY] = None,
) -> SearchResponse:
    """Articles mentioning an entity, newest first, in every language."""
    check_range(published_from, published_to)
    params = SearchParams(
        entities=(entity_id,),
        languages=tuple(lang),
        published_from=published_from,
        published_to=published_to,
        size=min(size, resources.settings.api_max_page_size),
        sort=sort,
        cursor=cursor,
    )
    return await perform_search(resources, params)
