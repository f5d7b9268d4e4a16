"""Topic names of the chain. A prefix (``KHABAR_TOPIC_PREFIX``) isolates test runs."""

from __future__ import annotations

from dataclasses import dataclass

RAW = "articles.raw"
ENRICHED = "articles.enriched"
DLQ = "articles.dlq"


@dataclass(frozen=True, slots=True)
class Topics:
    """The three topic names for one deployment (or one test)."""

    prefix: str = ""

    @property
    def raw(self) -> str:
        """Raw articles from ingest and the API."""
        return f"{self.prefix}{RAW}"

    @property
    def enriched(self) -> str:
        """Enriched articles, ready to index."""
        return f"{self.prefix}{ENRICHED}"

    @property
    def dlq(self) -> str:
        """Dead letters from every stage."""
        return f"{self.prefix}{DLQ}"

    def all(self) -> tuple[str, str, str]:
        """Every topic, in chain order."""
        return (self.raw, self.enriched, self.dlq)
