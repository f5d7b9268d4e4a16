from __future__ import annotations

import pytest

from shared.errors import ConfigurationError
from shared.settings import ApiSettings, IngestSettings, KhabarSettings


def test_defaults_and_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_API_PORT", "9123")
    monkeypatch.setenv("KHABAR_TOPIC_PREFIX", "t1.")
    settings = ApiSettings()
    assert settings.api_port == 9123
    assert settings.topics.raw == "t1.articles.raw"
    assert KhabarSettings().kafka_bootstrap == "127.0.0.1:9092"


def test_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_INGEST_FEEDS", "https://a/feed, https://b/rss")
    monkeypatch.setenv("KHABAR_API_KEYS", "k1,k2")
    assert IngestSettings().ingest_feeds == ["https://a/feed", "https://b/rss"]
    assert [k.get_secret_value() for k in ApiSettings().api_keys] == ["k1", "k2"]


def test_production_refuses_placeholder_secrets_and_open_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KHABAR_ENVIRONMENT", "production")
    monkeypatch.setenv("KHABAR_ELASTICSEARCH_PASSWORD", "changeme")
    with pytest.raises((ConfigurationError, ValueError)):
        KhabarSettings()
    monkeypatch.setenv("KHABAR_ELASTICSEARCH_PASSWORD", "a-real-secret-value")
    with pytest.raises((ConfigurationError, ValueError)):
        ApiSettings()
    monkeypatch.setenv("KHABAR_API_KEYS", "key-one")
    # The transports must be locked too (tests/unit/shared/test_settings_production.py).
    monkeypatch.setenv("KHABAR_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KHABAR_KAFKA_USERNAME", "khabar")
    monkeypatch.setenv("KHABAR_KAFKA_PASSWORD", "a-real-kafka-secret")
    monkeypatch.setenv("KHABAR_ELASTICSEARCH_URL", "https://search:9200")
    monkeypatch.setenv("KHABAR_ELASTICSEARCH_USERNAME", "khabar")
    assert ApiSettings().environment == "production"


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_ELASTICSEARCH_PASSWORD", "hunter2-secret")
    assert "hunter2-secret" not in repr(KhabarSettings())
