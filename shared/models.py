"""The event contract: every message on a Khabar topic and every API payload.

One module, one base model, one ``ConfigDict``. Services import these classes; nobody
redefines a field. Events are JSON (UTF-8) on the wire and carry ``schema_version`` so a
consumer can refuse (dead-letter) a version it does not understand instead of guessing.

The chain::

    RawArticle ──articles.raw──► enrich ──► EnrichedArticle ──articles.enriched──► index
        └──────── any failure ──► DeadLetter ──articles.dlq
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from shared.ids import article_id

SCHEMA_VERSION = 1  # the Literal[1] annotations below must change with it

EntityType = Literal["PER", "ORG", "LOC", "MISC"]
TextField = Literal["title", "body"]
EvidenceSource = Literal["kb", "model", "rule"]
Stage = Literal["ingest", "enrich", "index", "api"]
#: Where a service's spans go (``KHABAR_TRACE_STORE`` once ``auto`` is resolved).
TraceStoreName = Literal["elasticsearch", "otlp", "none"]

#: A stable article id: 32 lowercase hex characters (see :mod:`shared.ids`).
ArticleId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
#: ISO 639-1 (two letters) or 639-3 (three) code, or ``und`` when unknown.
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
#: ISO 15924 script code, e.g. ``Arab``, ``Deva``, ``Latn``; ``Zyyy`` when unknown.
ScriptCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][a-z]{3}$")]


#: A multilingual unit vector (``shared.vectors``): never empty, never NaN or infinite (no model
#: here takes either: ``allow_inf_nan=False`` below).
VectorValues = Annotated[list[float], Field(min_length=1)]


def _timestamp_text(value: object) -> object:
    if isinstance(value, int | float):  # bool too: pydantic would read a number as Unix time
        raise ValueError("a timestamp is an RFC 3339 string with its offset, not a number")
    return value


#: A time a user gives: an RFC 3339 string with an offset (what the OpenAPI schema documents).
SubmittedTime = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class KhabarModel(BaseModel):
    """Base of every event and payload: one configuration for the whole contract."""

    model_config = ConfigDict(
        extra="ignore",  # forward compatible: a newer producer may add fields
        # JSON has no NaN or infinity: one let in (pydantic reads the string "NaN" as a float)
        # would be written out as null and break the next consumer (found by make fuzz)
        allow_inf_nan=False,
        populate_by_name=True,
        ser_json_timedelta="float",
        validate_default=True,
    )


class StrictInput(KhabarModel):
    """Base of payloads that come from users: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- entities


class Mention(KhabarModel):
    """One occurrence of an entity: ``text == article[field][start:end]``."""

    field: TextField
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    source: EvidenceSource = "kb"
    score: float = Field(default=1.0, ge=0.0, le=1.0)


class Entity(KhabarModel):
    """A named entity linked to a stable, cross-lingual id, with its evidence."""

    id: str = Field(
        description="KB id (e.g. 'geo:PK') or a cross-script name id ('per:nabil-munir')."
    )
    type: EntityType
    name: str = Field(description="Canonical Latin-script name.")
    names: dict[str, str] = Field(default_factory=dict, description="Name per language code.")
    mentions: list[Mention] = Field(default_factory=list)
    linked: bool = Field(
        default=False, description="True when the id comes from the knowledge base."
    )
    score: float = Field(default=1.0, ge=0.0, le=1.0)


class LanguageShare(KhabarModel):
    """Share of an article's text in one language (shares sum to about 1)."""

    language: LanguageCode
    share: float = Field(ge=0.0, le=1.0)


# --------------------------------------------------------------------------- articles


class ArticleFields(KhabarModel):
    """Fields every article has at every stage."""

    id: ArticleId
    url: str | None = None
    source: str | None = Field(default=None, max_length=200)
    title: str | None = None
    body: str
    published_at: AwareDatetime | None = None
    ingested_at: AwareDatetime = Field(default_factory=utc_now)


class RawArticle(ArticleFields):
    """An article as ingest read it: text only, not yet cleaned (``articles.raw``)."""

    schema_version: Literal[1] = 1
    language_hint: LanguageCode | None = None


class EnrichedArticle(ArticleFields):
    """An article after enrichment (``articles.enriched``) and as indexed."""

    schema_version: Literal[1] = 1
    language: LanguageCode = "und"
    language_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    script: ScriptCode = "Zyyy"
    languages: list[LanguageShare] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    flags: list[str] = Field(
        default_factory=list,
        description="Quality flags, e.g. 'empty_body', 'furniture_only', 'truncated', 'no_date'.",
    )
    enriched_at: AwareDatetime = Field(default_factory=utc_now)
    trace_id: str | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    vector: VectorValues | None = Field(
        default=None,
        description="The article's multilingual unit vector (headline and lead); null, with "
        "the 'no_vector' flag, when the text carries nothing to place.",
    )
    story_id: ArticleId | None = Field(
        default=None,
        description="The story the article belongs to, across languages: set when indexed, "
        "the id of the story's first article.",
    )


# --------------------------------------------------------------------------- failures


class DeadLetter(KhabarModel):
    """A message a stage could not process, with its original bytes (``articles.dlq``)."""

    schema_version: Literal[1] = 1
    stage: Stage
    error: str
    error_type: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    article_id: str | None = None
    original_b64: str = Field(description="The original message value, base64.")
    headers: dict[str, str] = Field(default_factory=dict)
    failed_at: AwareDatetime = Field(default_factory=utc_now)

    @classmethod
    def from_bytes(cls, original: bytes | None, **fields: object) -> DeadLetter:
        """Build a dead letter around the exact bytes that failed."""
        encoded = base64.b64encode(original or b"").decode("ascii")
        return cls.model_validate({**fields, "original_b64": encoded})

    def original(self) -> bytes:
        """The original message value."""
        return base64.b64decode(self.original_b64)


# --------------------------------------------------------------------------- API payloads


class ArticleSubmission(StrictInput):
    """An article posted to the API or read from a JSON Lines file."""

    title: str | None = Field(default=None, max_length=2_000)
    body: str = Field(min_length=1, max_length=1_000_000)
    url: str | None = Field(default=None, max_length=4_096)
    source: str | None = Field(default=None, max_length=200)
    published_at: SubmittedTime | None = None
    language: LanguageCode | None = Field(default=None, description="Optional language hint.")

    def to_raw(self, *, source: str | None = None) -> RawArticle:
        """The raw article this submission becomes, with its stable id (``source`` when it names
        none of its own: a JSON Lines file's, a feed's)."""
        return RawArticle(
            id=article_id(url=self.url, title=self.title, body=self.body),
            url=self.url,
            source=self.source or source,
            title=self.title,
            body=self.body,
            published_at=self.published_at,
            language_hint=self.language,
        )


class Accepted(KhabarModel):
    """Answer to a write: the ids of the accepted articles (202)."""

    ids: list[str]


class ErrorRecord(KhabarModel):
    """One failed input, in place of its output line (``khabar enrich``)."""

    error: str
    error_type: str
    input: str = Field(description="Where the input came from: path and line.")


class ArticleAccepted(KhabarModel):
    """Answer to ``POST /articles`` (202): the article's stable id."""

    id: str


class FieldError(KhabarModel):
    """One reason a request was not valid: where (``loc``), what and which rule."""

    loc: list[str | int] = Field(
        description="Where: 'body', 'query', 'path' or 'header', then the field and any index."
    )
    msg: str
    type: str = Field(description="The rule that failed, e.g. 'missing', 'string_too_long'.")


class ProblemDetail(KhabarModel):
    """Every error answer of the gateway (RFC 9457 problem details, ``application/problem+json``).

    One shape for every 4xx and 5xx, whether a route, the validation of a request or the
    admission checks (rate limit, body size) refused it, so a client reads ``detail`` — always a
    sentence — in one place; a 422 also lists each failed rule in ``errors``.
    """

    type: str = Field(default="about:blank", description="RFC 9457: no type beyond the status.")
    title: str = Field(description="The status's phrase, e.g. 'Not Found'.")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="Why, in words a consumer can act on.")
    errors: list[FieldError] = Field(
        default_factory=list, description="Each failed rule of a request that is not valid (422)."
    )


class EntitySummary(KhabarModel):
    """An entity as listed on a search hit."""

    id: str
    name: str
    type: EntityType


class QueryTerm(KhabarModel):
    """How the gateway read part of a query: words and the entity ids they stand for."""

    text: str = Field(description="The query words, as typed.")
    entity_ids: list[str] = Field(
        default_factory=list,
        description="Entities these words name, matched in every script alongside the text.",
    )
    via: Literal["kb", "name_key", "text"] = Field(
        default="text",
        description="kb: a knowledge-base alias; name_key: the cross-script name key of words "
        "the KB does not know; text: matched as text only.",
    )


class FacetBucket(KhabarModel):
    """One value of a facet and how many matching articles have it."""

    key: str
    count: int


class EntityBucket(KhabarModel):
    """An entity and how many matching articles mention it."""

    id: str
    name: str
    type: EntityType
    count: int


class DateBucket(KhabarModel):
    """Articles published in one interval starting at ``date``."""

    date: AwareDatetime
    count: int
    stories: int | None = Field(
        default=None, description="Stories among them (copies in other languages count once)."
    )


class SearchFacets(KhabarModel):
    """Aggregations over every article matching a search (not just the page)."""

    languages: list[FacetBucket] = Field(default_factory=list)
    sources: list[FacetBucket] = Field(default_factory=list)
    entity_types: list[FacetBucket] = Field(default_factory=list)
    entities: dict[EntityType, list[EntityBucket]] = Field(
        default_factory=dict, description="Top entities per type."
    )
    published: list[DateBucket] = Field(
        default_factory=list, description="Date histogram of publication dates."
    )


class StoryVersion(KhabarModel):
    """A story's first article in one language."""

    id: str
    language: str
    title: str | None = None


class StorySummary(KhabarModel):
    """The story a hit belongs to: how many articles tell it, and in which languages."""

    id: str
    articles: int = Field(description="Articles of the story, in every language.")
    versions: list[StoryVersion] = Field(
        default_factory=list, description="The story's first article in each language."
    )


class SearchHit(KhabarModel):
    """One search result."""

    id: str
    title: str | None = None
    language: str
    script: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: AwareDatetime | None = None
    entities: list[EntitySummary] = Field(default_factory=list)
    score: float | None = None
    highlight: dict[str, list[str]] = Field(default_factory=dict)
    trace_id: str | None = None
    story_id: str | None = None
    story: StorySummary | None = None


class RelatedHit(SearchHit):
    """An article related to another, and how."""

    relation: Literal["story_other_language", "story_same_language", "close_coverage"] = Field(
        description="story_other_language: the same story in another language; "
        "story_same_language: the same story in its own language; close_coverage: a different "
        "story close in meaning."
    )


class RelatedResponse(KhabarModel):
    """Answer to ``GET /articles/{id}/related``: best first, as the relations are listed."""

    id: str
    story_id: str | None = None
    hits: list[RelatedHit]


class SearchResponse(KhabarModel):
    """A page of search results; pass ``next_cursor`` back as ``cursor`` for the next page."""

    total: int = Field(description="Matching articles; matching stories with collapse=story.")
    hits: list[SearchHit]
    next_cursor: str | None = None
    took_ms: int | None = Field(default=None, description="The search server's own time.")
    facets: SearchFacets | None = Field(
        default=None, description="Aggregations, unless the request set facets=false."
    )
    interpretation: list[QueryTerm] = Field(
        default_factory=list, description="How the query words were read."
    )
    mode: Literal["hybrid", "lexical", "semantic"] = Field(
        default="lexical",
        description="How the search ran: hybrid (words and entities fused with meaning by "
        "reciprocal rank), semantic (meaning alone) or lexical (words and entities; also "
        "when the query holds nothing the vector model can place, or sort=date).",
    )


class EntityNames(KhabarModel):
    """An entity's identity and its names in each language (API answers)."""

    id: str
    name: str
    type: EntityType
    names: dict[str, str] = Field(default_factory=dict, description="Name per language code.")
    linked: bool = Field(description="True when the entity is in the knowledge base.")


class EntitySuggestion(EntityNames):
    """An autocomplete candidate: a knowledge-base entry or an entity seen in articles."""

    article_count: int | None = Field(
        default=None, description="Articles mentioning it, when it was seen in the index."
    )


class EntitySuggestions(KhabarModel):
    """Answer to ``GET /entities``."""

    items: list[EntitySuggestion]


class EntityDetail(EntityNames):
    """Answer to ``GET /entities/{id}``: names, coverage and company of one entity."""

    country: str | None = None
    article_count: int
    languages: list[FacetBucket] = Field(default_factory=list)
    co_occurring: list[EntityBucket] = Field(
        default_factory=list, description="Entities most often mentioned in the same articles."
    )
    timeline: list[DateBucket] = Field(
        default_factory=list, description="Articles mentioning it per interval."
    )


class LanguageDay(KhabarModel):
    """Articles in one language published on one day."""

    date: AwareDatetime
    language: str
    count: int
    stories: int = Field(description="Stories among them: the same story's copies count once.")


class PipelineStats(KhabarModel):
    """What the broker says about the chain (approximate on the local broker)."""

    dead_letters: int | None = Field(
        default=None, description="Messages in the dead-letter topic; null if unknown."
    )
    lag: dict[str, int] = Field(
        default_factory=dict, description="Unconsumed messages per consumer group."
    )
    error: str | None = Field(default=None, description="Why broker figures are missing.")


class StatsResponse(KhabarModel):
    """Answer to ``GET /stats``: figures for dashboards."""

    total_articles: int
    days: int = Field(description="Window of the per-day figures, ending today.")
    per_language_per_day: list[LanguageDay] = Field(default_factory=list)
    per_language: list[FacetBucket] = Field(default_factory=list)
    per_source: list[FacetBucket] = Field(default_factory=list)
    pipeline: PipelineStats = Field(default_factory=PipelineStats)
    generated_at: AwareDatetime = Field(default_factory=utc_now)


# --------------------------------------------------------------------------- traces


class SpanLink(KhabarModel):
    """A link from one span to another, usually of another trace.

    A batched write links to each article it carried; an article submitted in a batch, a file or
    a feed links to the request or read that brought it.
    """

    trace_id: str
    span_id: str


class TraceSpan(KhabarModel):
    """One stored span of an article's journey (``GET /articles/{id}/trace``)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    service: str = Field(description="The emitting service's ``service.name``.")
    name: str
    kind: str
    start: AwareDatetime
    duration_ms: float
    status: str = "UNSET"
    links: list[SpanLink] = Field(default_factory=list)
    attributes: dict[str, str | int | float | bool | list[str]] = Field(default_factory=dict)


class StageTiming(KhabarModel):
    """How long one step of the chain took, measured from the spans."""

    stage: str = Field(description="e.g. publish, queue:articles.raw, enrich, bulk write.")
    service: str
    start_ms: float = Field(description="Offset from the first span of the journey.")
    duration_ms: float


class ArticleTrace(KhabarModel):
    """An article's journey through the chain (or any one trace): spans and per-stage timings."""

    article_id: str | None = None
    trace_id: str | None
    store: TraceStoreName
    jaeger_url: str | None = None
    services: list[str] = Field(default_factory=list)
    complete: bool = Field(
        default=False,
        description="Spans of the enrichment and of the bulk write are both stored. Each "
        "service exports its spans on its own schedule, so a fresh article's journey can be "
        "partial for a few seconds.",
    )
    total_ms: float | None = None
    stages: list[StageTiming] = Field(default_factory=list)
    spans: list[TraceSpan] = Field(default_factory=list)
    links: list[SpanLink] = Field(
        default_factory=list,
        description="Spans of other traces this trace links to: for an article submitted in a "
        "batch, read from a file or a feed, the span of the request or read that brought it "
        "(``GET /traces/{trace_id}`` shows that trace).",
    )
    enrich_timings_ms: dict[str, float] = Field(default_factory=dict)
