"""One exception hierarchy for Khabar.

Infrastructure errors (aiokafka, elasticsearch) are wrapped where they are caught so callers
decide on policy ("retry", "dead-letter and go on", "stop") by our types, not by a client's.
"""

from __future__ import annotations


class KhabarError(Exception):
    """Root of every error Khabar raises on purpose."""


class ConfigurationError(KhabarError):
    """Settings are missing or contradictory."""


class InvalidArticleError(KhabarError):
    """An article (file, line, message or payload) cannot be parsed or validated."""


class SourceError(KhabarError):
    """A source (file, directory, feed URL) cannot be read."""


class BrokerError(KhabarError):
    """The Kafka broker refused or failed a request."""


class SearchBackendError(KhabarError):
    """Elasticsearch refused or failed a request."""


class StackError(KhabarError):
    """The local runtime (broker, search server, services) could not start."""
