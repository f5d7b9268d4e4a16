"""Settings: one class per service, read only from the environment (``KHABAR_`` prefix).

Every service class extends :class:`KhabarSettings` (broker, search server, topics, logging,
tracing) and adds fields named after the service, so ``index_batch_size`` is read from
``KHABAR_INDEX_BATCH_SIZE`` and the API port from ``KHABAR_API_PORT``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.errors import ConfigurationError
from shared.topics import Topics

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "dev-key"}


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class KhabarSettings(BaseSettings):
    """What every service needs: where the broker and the search server are, and telemetry."""

    model_config = SettingsConfigDict(
        env_prefix="KHABAR_", extra="ignore", frozen=True, env_file=None
    )

    environment: Literal["development", "test", "production"] = "development"
    bind_host: str = Field(default="127.0.0.1", description="Address HTTP endpoints bind to.")
    data_dir: Path = Field(
        default=Path(".khabar/data"), description="Scratch space of the workers."
    )
    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the brokers' certificates (SSL, SASL_SSL); "
        "unset = the system's trust store.",
    )
    topic_prefix: str = ""
    topic_partitions: int = Field(default=4, ge=1, le=1024)
    topic_replication_factor: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Replicas of each topic Khabar creates (3 on a production cluster, with the "
        "brokers' min.insync.replicas at 2).",
    )
    stream_buffer_maxsize: int = Field(
        default=1_000,
        ge=10,
        description="Messages a worker buffers per topic before it stops fetching (backpressure).",
    )
    # Elasticsearch
    elasticsearch_url: str = "http://127.0.0.1:9200"
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None
    elasticsearch_api_key: SecretStr | None = None
    elasticsearch_ca_certs: Path | None = None
    index_alias: str = Field(default="khabar-articles", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    # Telemetry
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP endpoint for traces, e.g. http://collector:4318"
    )
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    trace_store: Literal["auto", "elasticsearch", "otlp", "none"] = Field(
        default="auto",
        description="Where spans go: auto = OTLP when an endpoint is set, else Elasticsearch.",
    )
    trace_index: str = Field(default="khabar-spans", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    jaeger_url: str | None = Field(
        default=None, description="Jaeger UI base URL; trace responses link there when set."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> KhabarSettings:
        if self.environment != "production":
            return self
        for name in ("kafka_password", "elasticsearch_password", "elasticsearch_api_key"):
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value().lower() in _PLACEHOLDERS:
                raise ConfigurationError(f"KHABAR_{name.upper()} is a placeholder in production")
        return self

    @model_validator(mode="after")
    def _locked_doors_in_production(self) -> KhabarSettings:
        """Production talks to Kafka and Elasticsearch over TLS, with credentials, only.

        Each refusal names the variable to set: the operator reads one line at startup, and a
        service that would have sent articles (or keys) in the clear never starts.
        """
        if self.environment == "production":
            _check_kafka_in_production(self)
            _check_elasticsearch_in_production(self)
        return self

    @cached_property
    def topics(self) -> Topics:
        """Topic names, with the configured prefix."""
        return Topics(self.topic_prefix)


def _check_kafka_in_production(settings: KhabarSettings) -> None:
    protocol = settings.kafka_security_protocol
    if protocol in ("PLAINTEXT", "SASL_PLAINTEXT"):
        raise ConfigurationError(
            f"KHABAR_KAFKA_SECURITY_PROTOCOL is {protocol}, which sends Kafka traffic unencrypted: "
            "production needs SASL_SSL (with KHABAR_KAFKA_SSL_CAFILE for a private CA)"
        )
    if protocol == "SSL":
        raise ConfigurationError(
            "KHABAR_KAFKA_SECURITY_PROTOCOL is SSL, which logs in with no credentials: "
            "production needs SASL_SSL with KHABAR_KAFKA_USERNAME and KHABAR_KAFKA_PASSWORD"
        )
    if not settings.kafka_username or settings.kafka_password is None:
        raise ConfigurationError(
            "KHABAR_KAFKA_USERNAME and KHABAR_KAFKA_PASSWORD must be set in production "
            f"(the {settings.kafka_sasl_mechanism} login of SASL_SSL)"
        )


def _check_elasticsearch_in_production(settings: KhabarSettings) -> None:
    if not settings.elasticsearch_url.lower().startswith("https://"):
        raise ConfigurationError(
            "KHABAR_ELASTICSEARCH_URL must be an https:// URL in production (with "
            "KHABAR_ELASTICSEARCH_CA_CERTS for a private CA): plain http sends documents and "
            "credentials unencrypted"
        )
    basic = settings.elasticsearch_username and settings.elasticsearch_password is not None
    if settings.elasticsearch_api_key is None and not basic:
        raise ConfigurationError(
            "KHABAR_ELASTICSEARCH_API_KEY (or KHABAR_ELASTICSEARCH_USERNAME and "
            "KHABAR_ELASTICSEARCH_PASSWORD) must be set in production"
        )


class IngestSettings(KhabarSettings):
    """The ingest service: sources to poll and where its health/metrics endpoint listens."""

    ingest_port: int = Field(default=8001, ge=0, le=65535)
    ingest_watch_dir: Path | None = Field(
        default=None, description="Drop folder: files put here are ingested, then moved to done/."
    )
    ingest_feeds: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated RSS/Atom URLs to poll."
    )
    ingest_poll_seconds: float = Field(default=300.0, gt=0)

    _split_feeds = field_validator("ingest_feeds", mode="before")(_split_csv)


class EnrichSettings(KhabarSettings):
    """The enrich service."""

    enrich_port: int = Field(default=8002, ge=0, le=65535)
    enrich_max_chars: int = Field(default=200_000, ge=1_000)
    enrich_ner_max_chars: int = Field(
        default=2_000,
        ge=0,
        description="How much of the body the statistical tagger reads (0 = all); names it "
        "finds are marked again wherever they recur, and the knowledge base reads everything.",
    )
    enrich_batch_size: int = Field(
        default=32,
        ge=1,
        le=1_000,
        description="Articles enriched before their outputs' acknowledgements are awaited "
        "together (the broker's round trip is paid once a batch, not once an article).",
    )
    enrich_batch_seconds: float = Field(
        default=0.02, gt=0, description="How long a batch waits to fill before it is processed."
    )


class IndexSettings(KhabarSettings):
    """The index service: bulk batching."""

    index_port: int = Field(default=8003, ge=0, le=65535)
    index_batch_size: int = Field(default=500, ge=1, le=10_000)
    index_batch_seconds: float = Field(
        default=0.25,
        gt=0,
        description="How long a bulk batch waits to fill: the floor of ingest-to-searchable "
        "latency when the chain is not busy (a busy chain fills batches sooner).",
    )
    index_stories: bool = Field(
        default=True,
        description="Give each new article a story: its headline through the contextual "
        "encoder (~40 ms an article on one core, the chain's largest cost) and a neighbour "
        "search. False: every article is a story of its own and no encoder is loaded.",
    )
    index_story_similarity: float = Field(
        default=0.60,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity of two headlines' story vectors (language-centred) at "
        "which an article joins its nearest neighbour's story.",
    )
    index_story_entity_similarity: float = Field(
        default=0.52,
        ge=-1.0,
        le=1.0,
        description="The lower similarity that suffices when the two articles share entities.",
    )
    index_story_shared_entities: int = Field(
        default=2, ge=1, description="How many entity ids the lower similarity needs in common."
    )
    index_story_unshared_similarity: float = Field(
        default=0.65,
        ge=-1.0,
        le=1.0,
        description="The higher similarity needed when both articles name entities and share "
        "none (two arrests in different towns read alike; their places differ).",
    )
    index_story_window_hours: float = Field(
        default=72.0, gt=0, description="Stories join articles dated this close to each other."
    )
    index_story_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Threads the headline encoder of the stories uses (one per core to spare).",
    )


class ApiSettings(KhabarSettings):
    """The API gateway."""

    api_port: int = Field(default=8000, ge=0, le=65535)
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated keys for write endpoints; empty = writes open (development).",
    )
    api_max_body_bytes: int = Field(default=2_000_000, ge=1_000)
    api_max_page_size: int = Field(
        default=100, ge=1, le=100, description="Hits per page at most (the API allows 100)."
    )
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_keys_for_reads: bool = Field(
        default=False, description="Require a valid X-API-Key on reads too (needs api_keys)."
    )
    api_max_query_words: int = Field(default=32, ge=1, le=256)
    api_semantic_min_similarity: float = Field(
        default=0.2,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity below which a kNN neighbour is not a semantic match.",
    )
    api_rate_limit_per_second: float = Field(
        default=100.0, ge=0, description="Requests per second per API key or client IP; 0 = off."
    )
    api_rate_limit_burst: int = Field(default=200, ge=1)
    api_search_connections: int = Field(
        default=64, ge=1, le=1024, description="Pooled connections to the search server."
    )
    api_stream_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    api_stream_max_seconds: float = Field(
        default=600.0, gt=0, description="A /stream connection is closed after this long."
    )
    api_stream_settle_seconds: float = Field(
        default=1.5,
        ge=0,
        description="/stream only reports documents indexed at least this long ago, so one "
        "indexed earlier but made visible later (another index worker) is not skipped.",
    )

    _split_keys = field_validator("api_keys", "api_cors_origins", mode="before")(_split_csv)

    @model_validator(mode="after")
    def _keys_required_in_production(self) -> ApiSettings:
        if self.environment != "production":
            return self
        if not self.api_keys:
            raise ConfigurationError(
                "KHABAR_API_KEYS must be set in production (without keys, writes are open)"
            )
        if any(key.get_secret_value().lower() in _PLACEHOLDERS for key in self.api_keys):
            raise ConfigurationError("KHABAR_API_KEYS holds a placeholder key in production")
        return self


class ClientSettings(BaseSettings):
    """The CLI's view of a running stack: where the API is."""

    model_config = SettingsConfigDict(env_prefix="KHABAR_", extra="ignore", frozen=True)

    api_port: int = 8000
    api_host: str = "127.0.0.1"
    api_url: str | None = None
    api_key: SecretStr | None = None

    @property
    def base_url(self) -> str:
        """The API base URL."""
        return (self.api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")
